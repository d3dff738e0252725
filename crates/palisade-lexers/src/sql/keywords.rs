//! The SQL keyword table: words of MySQL, MSSQL, PostgreSQL, Oracle, SQLite
//! and DB2 with their token kind (see `tokens`). Written for this crate; the
//! kinds follow libinjection's alphabet. Lookup is case-insensitive.

use std::sync::OnceLock;

/// Multi-word phrases folded into one token: (first, second, kind).
pub const PHRASES: &[(&str, &str, u8)] = &[
    ("UNION", "ALL", b'U'),
    ("UNION", "DISTINCT", b'U'),
    ("EXCEPT", "ALL", b'U'),
    ("INTERSECT", "ALL", b'U'),
    ("GROUP", "BY", b'B'),
    ("ORDER", "BY", b'B'),
    ("PARTITION", "BY", b'B'),
    ("SELECT", "ALL", b'E'),
    ("SELECT", "DISTINCT", b'E'),
    ("SELECT", "TOP", b'E'),
    ("IS", "NOT", b'o'),
    ("NOT", "LIKE", b'o'),
    ("NOT", "IN", b'o'),
    ("NOT", "BETWEEN", b'o'),
    ("NOT", "REGEXP", b'o'),
    ("NOT", "RLIKE", b'o'),
    ("NOT", "SIMILAR", b'o'),
    ("SIMILAR", "TO", b'o'),
    ("SOUNDS", "LIKE", b'o'),
    ("IS", "DISTINCT", b'o'),
    ("WAITFOR", "DELAY", b'T'),
    ("WAITFOR", "TIME", b'T'),
    ("DOUBLE", "PRECISION", b't'),
    ("CHARACTER", "VARYING", b't'),
    ("INTO", "OUTFILE", b'k'),
    ("INTO", "DUMPFILE", b'k'),
    ("LOAD", "DATA", b'k'),
    ("IN", "BOOLEAN", b'k'),
    ("LEFT", "JOIN", b'k'),
    ("RIGHT", "JOIN", b'k'),
    ("INNER", "JOIN", b'k'),
    ("OUTER", "JOIN", b'k'),
    ("CROSS", "JOIN", b'k'),
    ("NATURAL", "JOIN", b'k'),
    ("FULL", "JOIN", b'k'),
    ("DROP", "TABLE", b'k'),
    ("DROP", "DATABASE", b'k'),
    ("CREATE", "TABLE", b'k'),
    ("DELETE", "FROM", b'k'),
    ("INSERT", "INTO", b'k'),
    ("TRUNCATE", "TABLE", b'k'),
    ("ALTER", "TABLE", b'k'),
];

const KEYWORDS: &[(&str, u8)] = &[
    // statements
    ("SELECT", b'E'),
    ("INSERT", b'E'),
    ("UPDATE", b'E'),
    ("DELETE", b'E'),
    ("REPLACE", b'f'),
    ("MERGE", b'E'),
    ("VALUES", b'k'),
    ("CREATE", b'E'),
    ("DROP", b'E'),
    ("ALTER", b'E'),
    ("TRUNCATE", b'E'),
    ("RENAME", b'E'),
    ("GRANT", b'E'),
    ("REVOKE", b'E'),
    ("EXPLAIN", b'E'),
    ("DESCRIBE", b'E'),
    ("SHOW", b'E'),
    ("HANDLER", b'E'),
    ("CALL", b'E'),
    ("LOCK", b'E'),
    ("UNLOCK", b'E'),
    ("PREPARE", b'E'),
    ("DEALLOCATE", b'E'),
    ("ANALYZE", b'E'),
    ("VACUUM", b'E'),
    ("PRAGMA", b'E'),
    ("ATTACH", b'E'),
    ("DETACH", b'E'),
    ("COPY", b'E'),
    ("WITH", b'E'),
    // T-SQL / procedural
    ("EXEC", b'T'),
    ("EXECUTE", b'T'),
    ("DECLARE", b'T'),
    ("WAITFOR", b'T'),
    ("SHUTDOWN", b'T'),
    ("BEGIN", b'T'),
    ("END", b'k'),
    ("IF", b'f'),
    ("ELSE", b'k'),
    ("ELSEIF", b'k'),
    ("WHILE", b'T'),
    ("GOTO", b'T'),
    ("PRINT", b'T'),
    ("RAISERROR", b'T'),
    ("OPENROWSET", b'f'),
    ("OPENQUERY", b'f'),
    ("OPENDATASOURCE", b'f'),
    ("OPENXML", b'f'),
    ("RECONFIGURE", b'T'),
    ("BACKUP", b'T'),
    ("RESTORE", b'T'),
    ("DBCC", b'T'),
    ("USE", b'T'),
    ("SETUSER", b'T'),
    ("KILL", b'T'),
    ("DO", b'k'),
    // union family
    ("UNION", b'U'),
    ("INTERSECT", b'U'),
    ("EXCEPT", b'U'),
    ("MINUS", b'U'),
    // grouping
    ("GROUP", b'n'),
    ("ORDER", b'n'),
    ("LIMIT", b'B'),
    ("HAVING", b'B'),
    ("OFFSET", b'k'),
    ("FETCH", b'k'),
    ("PROCEDURE", b'k'),
    ("FOR", b'n'),
    // logic
    ("AND", b'&'),
    ("OR", b'&'),
    ("XOR", b'&'),
    ("NOT", b'o'),
    // word operators
    ("LIKE", b'o'),
    ("ILIKE", b'o'),
    ("RLIKE", b'o'),
    ("REGEXP", b'o'),
    ("SIMILAR", b'o'),
    ("GLOB", b'o'),
    ("MATCH", b'k'),
    ("IS", b'o'),
    ("IN", b'k'),
    ("BETWEEN", b'o'),
    ("DIV", b'o'),
    ("MOD", b'o'),
    ("SOUNDS", b'o'),
    ("ESCAPE", b'k'),
    ("COLLATE", b'A'),
    ("BINARY", b't'),
    ("ANY", b'f'),
    ("SOME", b'n'),
    ("ALL", b'k'),
    ("EXISTS", b'f'),
    ("OVERLAPS", b'o'),
    // clauses
    ("FROM", b'k'),
    ("WHERE", b'k'),
    ("INTO", b'k'),
    ("OUTFILE", b'k'),
    ("DUMPFILE", b'k'),
    ("SET", b'k'),
    ("TABLE", b'k'),
    ("DATABASE", b'k'),
    ("SCHEMA", b'k'),
    ("VIEW", b'k'),
    ("INDEX", b'k'),
    ("TRIGGER", b'k'),
    ("FUNCTION", b'k'),
    ("JOIN", b'k'),
    ("ON", b'k'),
    ("USING", b'k'),
    ("AS", b'k'),
    ("DISTINCT", b'k'),
    ("DISTINCTROW", b'k'),
    ("TOP", b'k'),
    ("CASE", b'E'),
    ("WHEN", b'k'),
    ("THEN", b'k'),
    ("ELSE", b'k'),
    ("NULL", b'v'),
    ("PRECISION", b'k'),
    ("EQV", b'o'),
    ("IMP", b'o'),
    ("BINARY_DOUBLE_INFINITY", b'1'),
    ("BINARY_DOUBLE_NAN", b'1'),
    ("BINARY_FLOAT_INFINITY", b'1'),
    ("BINARY_FLOAT_NAN", b'1'),
    ("TRUE", b'1'),
    ("FALSE", b'1'),
    ("UNKNOWN", b'1'),
    ("DEFAULT", b'k'),
    ("ASC", b'k'),
    ("DESC", b'k'),
    ("DUAL", b'n'),
    ("NATURAL", b'k'),
    ("STRAIGHT_JOIN", b'k'),
    ("SQL_CALC_FOUND_ROWS", b'k'),
    ("HIGH_PRIORITY", b'k'),
    ("CONSTRAINT", b'k'),
    ("PRIMARY", b'k'),
    ("FOREIGN", b'k'),
    ("REFERENCES", b'k'),
    ("RETURNS", b'k'),
    ("RETURN", b'k'),
    ("CURSOR", b'k'),
    ("OPEN", b'k'),
    ("CLOSE", b'k'),
    ("ROLLBACK", b'T'),
    ("COMMIT", b'T'),
    ("SAVEPOINT", b'T'),
    ("TRANSACTION", b'k'),
    ("OUTPUT", b'k'),
    ("INFILE", b'k'),
    ("ROWNUM", b'n'),
    ("ROWS", b'k'),
    ("ONLY", b'k'),
    ("WINDOW", b'k'),
    ("OVER", b'k'),
    ("RECURSIVE", b'k'),
    ("LATERAL", b'k'),
    ("RETURNING", b'k'),
    ("NOWAIT", b'k'),
    ("SHARE", b'k'),
    ("ANALYSE", b'f'),
    // types
    ("INT", b't'),
    ("INTEGER", b't'),
    ("BIGINT", b't'),
    ("SMALLINT", b't'),
    ("TINYINT", b't'),
    ("MEDIUMINT", b't'),
    ("SIGNED", b't'),
    ("UNSIGNED", b't'),
    ("DECIMAL", b't'),
    ("NUMERIC", b't'),
    ("FLOAT", b't'),
    ("REAL", b't'),
    ("DOUBLE", b't'),
    ("VARCHAR", b't'),
    ("NVARCHAR", b't'),
    ("VARCHAR2", b't'),
    ("NCHAR", b't'),
    ("TEXT", b't'),
    ("NTEXT", b't'),
    ("BLOB", b't'),
    ("CLOB", b't'),
    ("BOOLEAN", b't'),
    ("BOOL", b't'),
    ("DATETIME", b't'),
    ("TIMESTAMP", b't'),
    ("VARBINARY", b't'),
    ("BIT", b't'),
    ("MONEY", b't'),
    ("XML", b't'),
    ("JSON", b't'),
    ("CHARACTER", b't'),
    ("SQL_VARIANT", b't'),
    ("UNIQUEIDENTIFIER", b't'),
    ("SYSNAME", b't'),
    ("REGCLASS", b't'),
    ("OID", b't'),
    ("BYTEA", b't'),
    // functions: MySQL
    ("SLEEP", b'f'),
    ("BENCHMARK", b'f'),
    ("LOAD_FILE", b'f'),
    ("CONCAT", b'f'),
    ("CONCAT_WS", b'f'),
    ("GROUP_CONCAT", b'f'),
    ("CHAR", b'f'),
    ("CHR", b'f'),
    ("ASCII", b'f'),
    ("ORD", b'f'),
    ("HEX", b'f'),
    ("UNHEX", b'f'),
    ("SUBSTRING", b'f'),
    ("SUBSTR", b'f'),
    ("SUBSTRING_INDEX", b'f'),
    ("MID", b'f'),
    ("LEFT", b'f'),
    ("RIGHT", b'f'),
    ("LENGTH", b'f'),
    ("LEN", b'f'),
    ("CHAR_LENGTH", b'f'),
    ("CHARACTER_LENGTH", b'f'),
    ("LOWER", b'f'),
    ("UPPER", b'f'),
    ("LCASE", b'f'),
    ("UCASE", b'f'),
    ("TRIM", b'f'),
    ("LTRIM", b'f'),
    ("RTRIM", b'f'),
    ("REVERSE", b'f'),
    ("REPEAT", b'f'),
    ("SPACE", b'f'),
    ("INSTR", b'f'),
    ("LOCATE", b'f'),
    ("POSITION", b'f'),
    ("STRCMP", b'f'),
    ("ELT", b'f'),
    ("FIELD", b'f'),
    ("FIND_IN_SET", b'f'),
    ("MAKE_SET", b'f'),
    ("EXPORT_SET", b'f'),
    ("IFNULL", b'f'),
    ("NULLIF", b'f'),
    ("COALESCE", b'f'),
    ("ISNULL", b'f'),
    ("NVL", b'f'),
    ("NVL2", b'f'),
    ("DECODE", b'f'),
    ("ENCODE", b'f'),
    ("CAST", b'f'),
    ("CONVERT", b'f'),
    ("MD5", b'f'),
    ("SHA", b'f'),
    ("SHA1", b'f'),
    ("SHA2", b'f'),
    ("PASSWORD", b'f'),
    ("OLD_PASSWORD", b'f'),
    ("ENCRYPT", b'f'),
    ("COMPRESS", b'f'),
    ("UNCOMPRESS", b'f'),
    ("AES_ENCRYPT", b'f'),
    ("AES_DECRYPT", b'f'),
    ("DES_ENCRYPT", b'f'),
    ("FROM_BASE64", b'f'),
    ("TO_BASE64", b'f'),
    ("VERSION", b'f'),
    ("DATABASE_NAME", b'f'),
    ("USER", b'f'),
    ("CURRENT_USER", b'f'),
    ("SYSTEM_USER", b'f'),
    ("SESSION_USER", b'f'),
    ("CONNECTION_ID", b'f'),
    ("LAST_INSERT_ID", b'f'),
    ("ROW_COUNT", b'f'),
    ("FOUND_ROWS", b'f'),
    ("UUID", b'f'),
    ("RAND", b'f'),
    ("RANDOM", b'f'),
    ("FLOOR", b'f'),
    ("CEIL", b'f'),
    ("CEILING", b'f'),
    ("ROUND", b'f'),
    ("ABS", b'f'),
    ("SIN", b'f'),
    ("COS", b'f'),
    ("TAN", b'f'),
    ("EXP", b'f'),
    ("LOG", b'f'),
    ("LN", b'f'),
    ("POW", b'f'),
    ("POWER", b'f'),
    ("SQRT", b'f'),
    ("SIGN", b'f'),
    ("PI", b'f'),
    ("GREATEST", b'f'),
    ("LEAST", b'f'),
    ("COUNT", b'f'),
    ("SUM", b'f'),
    ("AVG", b'f'),
    ("MIN", b'f'),
    ("MAX", b'f'),
    ("NOW", b'f'),
    ("SYSDATE", b'f'),
    ("CURDATE", b'f'),
    ("CURTIME", b'f'),
    ("CURRENT_DATE", b'f'),
    ("CURRENT_TIME", b'f'),
    ("CURRENT_TIMESTAMP", b'f'),
    ("UTC_DATE", b'f'),
    ("DATE_FORMAT", b'f'),
    ("STR_TO_DATE", b'f'),
    ("EXTRACTVALUE", b'f'),
    ("UPDATEXML", b'f'),
    ("XMLTYPE", b'f'),
    ("GTID_SUBSET", b'f'),
    ("JSON_KEYS", b'f'),
    ("JSON_EXTRACT", b'f'),
    ("GEOMETRYCOLLECTION", b'f'),
    ("POLYGON", b'f'),
    ("MULTIPOINT", b'f'),
    ("LINESTRING", b'f'),
    ("EXP", b'f'),
    ("NAME_CONST", b'f'),
    ("IIF", b'f'),
    ("BIT_LENGTH", b'f'),
    ("BIT_COUNT", b'f'),
    ("CONV", b'f'),
    ("BIN", b'f'),
    ("OCT", b'f'),
    ("SOUNDEX", b'f'),
    ("QUOTE", b'f'),
    ("INET_ATON", b'f'),
    ("GET_LOCK", b'f'),
    ("RELEASE_LOCK", b'f'),
    ("MASTER_POS_WAIT", b'f'),
    ("SCHEMA_NAME", b'f'),
    ("DATABASE", b'k'),
    ("CHARSET", b'f'),
    ("COLLATION", b'f'),
    ("UNIX_TIMESTAMP", b'f'),
    ("FROM_UNIXTIME", b'f'),
    ("ST_LATFROMGEOHASH", b'f'),
    ("ROW", b'f'),
    ("VALUES", b'k'),
    ("WEIGHT_STRING", b'f'),
    ("LPAD", b'f'),
    ("RPAD", b'f'),
    ("INSERT_ID", b'f'),
    ("REGEXP_LIKE", b'f'),
    ("REGEXP_SUBSTR", b'f'),
    ("REGEXP_SUBSTRING", b'f'),
    ("CRYPT_KEY", b'f'),
    // MSSQL
    ("XP_CMDSHELL", b'f'),
    ("SP_EXECUTESQL", b'f'),
    ("SP_PASSWORD", b'f'),
    ("SP_OACREATE", b'f'),
    ("SP_OAMETHOD", b'f'),
    ("SP_ADDLOGIN", b'f'),
    ("SP_ADDSRVROLEMEMBER", b'f'),
    ("SP_CONFIGURE", b'f'),
    ("XP_REGREAD", b'f'),
    ("XP_DIRTREE", b'f'),
    ("XP_FILEEXIST", b'f'),
    ("XP_SERVICECONTROL", b'f'),
    ("DB_NAME", b'f'),
    ("USER_NAME", b'f'),
    ("SUSER_NAME", b'f'),
    ("SUSER_SNAME", b'f'),
    ("HOST_NAME", b'f'),
    ("OBJECT_ID", b'f'),
    ("OBJECT_NAME", b'f'),
    ("COL_NAME", b'f'),
    ("TYPE_NAME", b'f'),
    ("IS_SRVROLEMEMBER", b'f'),
    ("IS_MEMBER", b'f'),
    ("HAS_DBACCESS", b'f'),
    ("DATALENGTH", b'f'),
    ("CHARINDEX", b'f'),
    ("PATINDEX", b'f'),
    ("STUFF", b'f'),
    ("REPLICATE", b'f'),
    ("NCHAR", b't'),
    ("UNICODE", b'f'),
    ("QUOTENAME", b'f'),
    ("GETDATE", b'f'),
    ("DATEADD", b'f'),
    ("DATEDIFF", b'f'),
    ("DATEPART", b'f'),
    ("NEWID", b'f'),
    ("FN_VARBINTOHEXSTR", b'f'),
    ("SERVERPROPERTY", b'f'),
    ("TRY_CAST", b'f'),
    ("TRY_CONVERT", b'f'),
    ("STRING_AGG", b'f'),
    ("FORMATMESSAGE", b'f'),
    // PostgreSQL
    ("PG_SLEEP", b'f'),
    ("PG_SLEEP_FOR", b'f'),
    ("PG_READ_FILE", b'f'),
    ("PG_LS_DIR", b'f'),
    ("PG_READ_BINARY_FILE", b'f'),
    ("CURRENT_DATABASE", b'f'),
    ("CURRENT_SCHEMA", b'f'),
    ("CURRENT_SETTING", b'f'),
    ("STRING_TO_ARRAY", b'f'),
    ("ARRAY_TO_STRING", b'f'),
    ("STRING_AGG", b'f'),
    ("ARRAY_AGG", b'f'),
    ("GENERATE_SERIES", b'f'),
    ("QUOTE_LITERAL", b'f'),
    ("QUOTE_IDENT", b'f'),
    ("TO_CHAR", b'f'),
    ("TO_NUMBER", b'f'),
    ("TO_DATE", b'f'),
    ("BTRIM", b'f'),
    ("SPLIT_PART", b'f'),
    ("LO_IMPORT", b'f'),
    ("LO_EXPORT", b'f'),
    ("LO_GET", b'f'),
    ("QUERY_TO_XML", b'f'),
    ("DATABASE_TO_XML", b'f'),
    ("XMLAGG", b'f'),
    ("PG_CLIENT_ENCODING", b'f'),
    ("INET_SERVER_ADDR", b'f'),
    ("GETPGUSERNAME", b'f'),
    ("SETVAL", b'f'),
    ("NEXTVAL", b'f'),
    ("MD5", b'f'),
    // Oracle
    ("SYS_CONTEXT", b'f'),
    ("RAWTOHEX", b'f'),
    ("HEXTORAW", b'f'),
    ("TO_NCHAR", b'f'),
    ("XMLELEMENT", b'f'),
    ("XMLFOREST", b'f'),
    ("EXTRACT", b'f'),
    ("BITAND", b'f'),
    ("INSTRB", b'f'),
    ("LENGTHB", b'f'),
    ("SUBSTRB", b'f'),
    ("TRANSLATE", b'f'),
    ("ROWIDTOCHAR", b'f'),
    ("USERENV", b'f'),
    ("UID", b'f'),
    ("ORA_HASH", b'f'),
    ("STANDARD_HASH", b'f'),
    ("UTL_INADDR.GET_HOST_ADDRESS", b'f'),
    ("UTL_INADDR.GET_HOST_NAME", b'f'),
    ("DBMS_PIPE.RECEIVE_MESSAGE", b'f'),
    ("DBMS_LOCK.SLEEP", b'f'),
    ("UTL_HTTP.REQUEST", b'f'),
    ("CTXSYS.DRITHSX.SN", b'f'),
    ("DBMS_UTILITY.SQLID_TO_SQLHASH", b'f'),
    ("SYS.DBMS_PIPE.RECEIVE_MESSAGE", b'f'),
    ("DBMS_XMLGEN.GETXML", b'f'),
    ("SYS.FN_SQLVARBASETOSTR", b'f'),
    ("USER_LOCK.SLEEP", b'f'),
    // SQLite
    ("SQLITE_VERSION", b'f'),
    ("RANDOMBLOB", b'f'),
    ("ZEROBLOB", b'f'),
    ("TYPEOF", b'f'),
    ("GLOB", b'o'),
    ("LIKELIHOOD", b'f'),
    ("LOAD_EXTENSION", b'f'),
    ("PRINTF", b'f'),
    ("UNLIKELY", b'f'),
    ("TOTAL_CHANGES", b'f'),
    // DB2 / Firebird / others
    ("DBINFO", b'f'),
    ("RDB$GET_CONTEXT", b'f'),
];

/// FNV-1a step: keywords are short, SipHash's DoS resistance buys nothing
/// for a fixed table.
fn fnv(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Slots of the open-addressing table: a power of two, over twice the words.
const SLOTS: usize = 2048;

/// Upper-case word -> (kind or 0, phrase bits), by open addressing with
/// linear probing on the FNV-1a hash; and the word lengths present.
struct Table {
    /// 1 + index in `entries`, 0 for an empty slot.
    slots: Vec<u16>,
    entries: Vec<(&'static [u8], u8, u8)>,
    /// Bit `n` set when some word has `n` bytes.
    lens: u64,
    /// For words of `n` bytes (up to 32) starting with letter `f`: bit `l`
    /// set when one ends with letter `l` (a word not starting and ending
    /// with letters always passes).
    ends: Vec<[u32; 26]>,
}

/// The index of an ASCII letter in the alphabet.
fn letter(c: u8) -> Option<usize> {
    c.is_ascii_alphabetic()
        .then(|| usize::from(c.to_ascii_uppercase() - b'A'))
}

impl Table {
    fn slot_of(&self, word: &[u8], h: u64) -> usize {
        let mut i = (h as usize) & (SLOTS - 1);
        loop {
            match self.slots.get(i).copied().unwrap_or(0) {
                0 => return i,
                e => {
                    if self
                        .entries
                        .get(usize::from(e) - 1)
                        .is_some_and(|x| x.0 == word)
                    {
                        return i;
                    }
                }
            }
            i = (i + 1) & (SLOTS - 1);
        }
    }

    /// The entry of `word` (upper case), added when missing.
    fn upsert(&mut self, word: &'static [u8]) -> Option<&mut (&'static [u8], u8, u8)> {
        let h = word.iter().fold(FNV_START, |h, &b| fnv(h, b));
        let i = self.slot_of(word, h);
        if self.slots.get(i) == Some(&0) && self.entries.len() < usize::from(u16::MAX) - 1 {
            self.entries.push((word, 0, 0));
            if let Some(s) = self.slots.get_mut(i) {
                *s = self.entries.len() as u16;
            }
            if word.len() < 64 {
                self.lens |= 1 << word.len();
            }
            if let (Some(f), Some(l), Some(row)) = (
                word.first().copied().and_then(letter),
                word.last().copied().and_then(letter),
                self.ends.get_mut(word.len()),
            ) && let Some(m) = row.get_mut(f)
            {
                *m |= 1 << l;
            }
        }
        let e = usize::from(*self.slots.get(i)?);
        self.entries.get_mut(e.checked_sub(1)?)
    }
}

/// Phrase bits: the word starts / ends a two-word phrase.
pub const FIRST: u8 = 1;
pub const SECOND: u8 = 2;

/// word -> (kind or 0, phrase bits).
fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table {
            slots: vec![0; SLOTS],
            entries: Vec::new(),
            lens: 0,
            ends: vec![[0; 26]; 33],
        };
        // (a repeated keyword keeps its last kind)
        for &(w, k) in KEYWORDS {
            if let Some(e) = t.upsert(w.as_bytes()) {
                e.1 = k;
            }
        }
        for &(a, b, _) in PHRASES {
            if let Some(e) = t.upsert(a.as_bytes()) {
                e.2 |= FIRST;
            }
            if let Some(e) = t.upsert(b.as_bytes()) {
                e.2 |= SECOND;
            }
        }
        t
    })
}

/// (kind or 0, phrase bits) of a word.
pub fn entry(word: &[u8]) -> Option<(u8, u8)> {
    if word.is_empty() || word.len() > 32 {
        return None;
    }
    let t = table();
    if t.lens & (1 << word.len()) == 0 {
        return None;
    }
    if let (Some(f), Some(l)) = (
        word.first().copied().and_then(letter),
        word.last().copied().and_then(letter),
    ) && t
        .ends
        .get(word.len())
        .and_then(|row| row.get(f))
        .is_none_or(|m| m & (1 << l) == 0)
    {
        return None;
    }
    let mut h = FNV_START;
    for &c in word {
        if !c.is_ascii() {
            return None;
        }
        h = fnv(h, c.to_ascii_uppercase());
    }
    // the table's words are upper case: compare ignoring case, no copy
    let mut i = (h as usize) & (SLOTS - 1);
    loop {
        let e = usize::from(*t.slots.get(i)?);
        let &(w, k, p) = t.entries.get(e.checked_sub(1)?)?;
        if w.eq_ignore_ascii_case(word) {
            return Some((k, p));
        }
        i = (i + 1) & (SLOTS - 1);
    }
}

/// The kind of a word, if it is a keyword (case-insensitive).
pub fn lookup(word: &[u8]) -> Option<u8> {
    entry(word).map(|e| e.0).filter(|&k| k != 0)
}

/// The kind of a two-word phrase, if the pair folds into one token.
pub fn phrase(a: &[u8], b: &[u8]) -> Option<u8> {
    if entry(a).is_none_or(|e| e.1 & FIRST == 0) || entry(b).is_none_or(|e| e.1 & SECOND == 0) {
        return None;
    }
    PHRASES
        .iter()
        .find(|(x, y, _)| {
            a.eq_ignore_ascii_case(x.as_bytes()) && b.eq_ignore_ascii_case(y.as_bytes())
        })
        .map(|p| p.2)
}

/// Functions whose only use in a request value is an attack: time delays,
/// file reads, error-based extraction, command execution.
pub fn is_attack_function(word: &[u8]) -> bool {
    const F: &[&str] = &[
        "SLEEP",
        "BENCHMARK",
        "PG_SLEEP",
        "PG_SLEEP_FOR",
        "LOAD_FILE",
        "EXTRACTVALUE",
        "UPDATEXML",
        "XP_CMDSHELL",
        "SP_EXECUTESQL",
        "SP_OACREATE",
        "SP_PASSWORD",
        "UTL_INADDR",
        "DBMS_PIPE",
        "PG_READ_FILE",
        "PG_LS_DIR",
        "LO_IMPORT",
        "GTID_SUBSET",
        "JSON_KEYS",
        "NAME_CONST",
        "RANDOMBLOB",
        "LOAD_EXTENSION",
        "OPENROWSET",
        "OPENDATASOURCE",
        "XP_DIRTREE",
        "XP_REGREAD",
        "GROUP_CONCAT",
        "INFORMATION_SCHEMA",
        "CTXSYS",
        "UTL_HTTP",
        "DBMS_LOCK",
        "DBMS_UTILITY",
        "DBMS_XMLGEN",
        "GENERATE_SERIES",
        "MAKE_SET",
        "ELT",
        "GEOMETRYCOLLECTION",
        "POLYGON",
        "MULTIPOINT",
        "LINESTRING",
        "XMLTYPE",
        "IIF",
        "REGEXP_SUBSTRING",
        "CRYPT_KEY",
        "USER_LOCK",
        "SYS_CONTEXT",
        "DBMS_PIPE.RECEIVE_MESSAGE",
        "DBMS_LOCK.SLEEP",
        "UTL_INADDR.GET_HOST_ADDRESS",
    ];
    let prefix = word.split(|&c| c == b'.').next().unwrap_or(word);
    F.iter().any(|f| {
        word.eq_ignore_ascii_case(f.as_bytes()) || prefix.eq_ignore_ascii_case(f.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the table held when it was a `HashMap` keyed by upper-case words.
    fn naive(word: &[u8]) -> Option<(u8, u8)> {
        if word.is_empty() || word.len() > 32 || !word.is_ascii() {
            return None;
        }
        let up = word.to_ascii_uppercase();
        let kind = KEYWORDS
            .iter()
            .rev()
            .find(|(w, _)| w.as_bytes() == up)
            .map(|&(_, k)| k);
        let mut bits = 0;
        for &(a, b, _) in PHRASES {
            if a.as_bytes() == up {
                bits |= FIRST;
            }
            if b.as_bytes() == up {
                bits |= SECOND;
            }
        }
        match (kind, bits) {
            (None, 0) => None,
            (k, b) => Some((k.unwrap_or(0), b)),
        }
    }

    #[test]
    fn table_agrees_with_the_word_lists() {
        let mut words: Vec<Vec<u8>> = Vec::new();
        for &(w, _) in KEYWORDS {
            words.push(w.as_bytes().to_vec());
        }
        for &(a, b, _) in PHRASES {
            words.push(a.as_bytes().to_vec());
            words.push(b.as_bytes().to_vec());
        }
        for w in words.clone() {
            words.push(w.to_ascii_lowercase());
            let mut mixed = w.clone();
            if let Some(c) = mixed.first_mut() {
                *c = c.to_ascii_lowercase();
            }
            words.push(mixed);
            let mut longer = w.clone();
            longer.push(b'X');
            words.push(longer);
            words.push(w.get(..w.len() - 1).unwrap_or(&[]).to_vec());
        }
        for extra in [
            &b""[..],
            b"please",
            b"plan",
            b"O",
            b"Brien",
            "s\u{e9}lect".as_bytes(),
            b"selec\xc3",
            b"_latin1",
            b"a_very_long_identifier_that_is_more_than_32_bytes",
        ] {
            words.push(extra.to_vec());
        }
        for w in &words {
            assert_eq!(entry(w), naive(w), "{:?}", String::from_utf8_lossy(w));
        }
    }
}
