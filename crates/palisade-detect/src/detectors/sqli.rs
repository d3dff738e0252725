//! SQL injection: the SQL lexer of `palisade-lexers` first, then a few
//! shapes that only injections produce (`union select`, time-based blind
//! functions, stacked queries, quote-closing tautologies), read on the
//! normalized value and on its comment-squeezed form (`un/**/ion`).

use super::{Hit, Lazy, Subject, mask};
use palisade_core::Severity;

static SHAPES: Lazy = Lazy::new(concat!(
    r"\bunion( all| distinct)? ?\(? ?select\b",
    r"|\bselect\b.{1,120}\bfrom\b.{0,80}\b(information_schema|mysql\.user|pg_catalog|pg_shadow|sysobjects|sys\.\w+|dual|master\.\.)",
    r"|\b(sleep|benchmark|pg_sleep|extractvalue|updatexml|dbms_pipe\.receive_message|utl_inaddr\.get_host_address|load_file|exp) ?\(.{0,40}[\d)]",
    r"|\bwaitfor (delay|time) ?'",
    r#"|['"`)] ?(or|and|\|\||&&|xor) ?(not )?\(?['"`]?[\w@]+['"`]? ?(=|<>|!=|<|>|like |rlike |regexp |is |between )"#,
    r#"|['"`)] ?(or|and) ?(true|false|null|\d+)\b ?(--|#|;|$)"#,
    r#"|['"`]\s*(\|\||\+|&)\s*\(?\s*select\b"#,
    r#"|['"`)]? ?; ?(drop|truncate|alter|create|delete|insert|update|exec|execute|declare|shutdown|select)\b .{0,40}\b(table|from|into|set|xp_\w+|@|\w+\()"#,
    r"|\b(xp_cmdshell|sp_executesql|sp_oacreate|@@version|@@datadir|information_schema\.(tables|columns|schemata))\b",
    r"|\binto (out|dump)file\b|\b(from|join) `?information_schema\b",
    r#"|^[\w@.\-]*['"`]\)? ?(--[\s-]*|#|/\*.*)$"#,
    r#"|^[\w@.\-]*['"`]\)? ?; ?(select|drop|delete|insert|update|shutdown|exec|declare|waitfor)\b"#,
    r"|\b\d+ ?\)? (and|or) \(?\d+ ?(=|<|>|<>) ?\d+",
    r"|\border by \d+ ?(--|#|$)",
    r"|\bhaving \d+ ?= ?\d+",
    r"|\b(and|or) \(?select\b",
    r"|\bselect (count|concat|char|group_concat|version|user|database|@@)\b ?\(",
    r"|\bcase when\b.{0,80}\bthen\b.{0,80}\b(sleep|benchmark|1/0)\b",
    r"|\b(group|order) by\b.{0,40}\b(concat|select|if|sleep|extractvalue|updatexml|rand|floor)\s*\(",
    r"|\b(concat(_ws)?|char|unhex|conv)\s*\(\s*0x[0-9a-f]{4,}",
    r"|\bcast\s*\(.{1,60}\bas\s+(char|varchar|nvarchar|int|signed|unsigned|binary)\b",
    r"|\b(if|iif|elt|nullif|ifnull)\s*\(\s*\(?\s*\d+\s*(=|<|>)\s*\d+",
    // PostgreSQL: a call cast with `::` (error-based extraction), and JSON
    // operators on quoted JSON literals (the JSON-in-SQL WAF bypass)
    r"|\w\s*\([^()]{0,80}\)\s*::\s*(int|integer|bigint|smallint|numeric|text|varchar|jsonb?|xml|regclass|bool|boolean)\b",
    r#"|['"]\s*::\s*jsonb?\s*(@>|<@|\?[|&]?|#>>?|->>?|=|<>|<|>)|(@>|<@|#>>?|->>?)\s*['"]\s*[\[{]"#,
    r"|\bjson_(extract|unquote|keys|contains|search|value|query|build_object|agg)\s*\([^)]{0,80}\)\s*(=|<|>|<>|!=|\bis\b|\blike\b|::)",
));
static UNION_HEAD: Lazy = Lazy::new(r"^\s*union( all| distinct)? ?\(? ?select\b");
static UNION_SQL: Lazy = Lazy::new(
    r#"^\s*union( all| distinct)? ?\(? ?select ?(\d|\*|null\b|\(|@|['"`]|[\w.]+ ?(,|from\b|\()|$)"#,
);
pub(crate) const KEYWORDS: &[&str] = &[
    "select",
    "union",
    "sleep",
    "benchmark",
    "waitfor",
    "xp_",
    "@@",
    "information_schema",
    "outfile",
    "dumpfile",
    "order by",
    "having",
    "case when",
    "extractvalue",
    "updatexml",
    "load_file",
    "dbms_",
    "utl_",
    "sp_",
    "insert",
    "delete",
    "drop",
    "exec",
    " or ",
    " and ",
    " xor ",
    "like",
    "null",
    "pg_",
    "tempdb",
    "msdb",
    "sysobjects",
    "syscolumns",
    "sqlite_master",
    "openrowset",
    "opendatasource",
    "declare",
    "mysql.",
    "grant",
    "revoke",
];

/// Probes sqlmap and hand testers send that [`SHAPES`] leaves alone:
/// boolean conditions with no quote to close (`AND 2771=1709)`), catalog
/// and system object names, MSSQL variables, JSON operators on literals.
static PROBES: Lazy = Lazy::new(concat!(
    r#"^\s*(and|or|xor|&&|\|\|)\s*\(?\s*(\d+|'[^']*'|"[^"]*"|null)\s*(=|<>|!=|<=>|<|>)\s*\(?\s*(\d+|'[^']*'|"[^"]*"|null)\b"#,
    r"|^\s*(and|or)\s+\w+\s*(=|<>|!=)\s*\w+\s*\)|^\s*(and|or)\s+(\d+|true|false|null)\s*(#|--)",
    // a quote closed, then a statement: ' insert into t(...), '; grant x to y
    r#"|['"`)]\s*;?\s*(insert\s+into\s+[\w.`"\[\]]+\s*\(|grant\s+\w+(\s+\w+)?\s+to\s+\w|revoke\s+\w+)"#,
    // catalog names as a whole value or in a qualified name or clause, not
    // in prose ("tempdb? no idea")
    r"|(^\s*|\b(from|join|into|update|table)\s+|[.(,]\s*)(information_schema|pg_catalog|pg_shadow|pg_user|pg_database|sysobjects|syscolumns|sqlite_master|all_tables|user_tables|dba_users|msdb|tempdb)\s*($|[.;),])",
    r"|\b(sys\.(tables|columns|objects|databases|sql_logins)|mysql\.(user|db))\b",
    r"|\b(xp_(cmdshell|dirtree|regread|regwrite|fileexist|subdirs|servicecontrol|availablemedia|loginconfig)|sp_(password|executesql|oacreate|oamethod|makewebtask|addsrvrolemember|configure)|utl_(http|inaddr|file|smtp|tcp)|dbms_(pipe|xmlgen|java|lock|ldap|scheduler)|openrowset|opendatasource)\b",
    r"|\bdeclare\s+@\w+|\bexec(ute)?\s*\(\s*@|\bprocedure\s+analyse\s*\(",
    r#"|\b(and|or)\s+'[\[{][^']*'\s*(\?[|&]?|@>|<@)"#,
    r#"|\bdrop\s+(table\s+)?\w+\s*;\s*(--|#|/\*)"#,
));

/// A value of word characters only (which skips the value detectors) that
/// names a database's system object or dangerous procedure.
pub fn dangerous_identifier(v: &str) -> bool {
    const NAMES: &[&str] = &[
        "information_schema",
        "pg_catalog",
        "pg_shadow",
        "sqlite_master",
        "sysobjects",
        "syscolumns",
        "tempdb",
        "msdb",
        "openrowset",
        "opendatasource",
    ];
    const PREFIXES: &[&str] = &["xp_", "sp_", "utl_", "dbms_"];
    (5..=40).contains(&v.len())
        && (NAMES.iter().any(|n| v.eq_ignore_ascii_case(n))
            || PREFIXES.iter().any(|p| {
                v.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p))
                    && PROBES.find(&v.to_ascii_lowercase()).is_some()
            }))
}
const QUOTES: u128 = mask(b"'\"`;=<>#)");
/// One of these or a trigger keyword is in every `SHAPES` match.
const SHAPE_CHARS: u128 = mask(b"'\"`();");
const LEXER_TRIGGERS: u128 = mask(b"'\"`;()#=<>|&*/-");

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    let keyword = s.triggered(super::T_SQL);
    // `/`, `-` and `*` alone (paths, dates, ids) carry no SQL; as comments
    // (`--`, `/*`, `*/`) they do
    if !keyword
        && !s.has_any(LEXER_TRIGGERS & !mask(b"/-*"))
        && !(s.has_any(mask(b"/-*")) && (s.has("--") || s.has("/*") || s.has("*/")))
    {
        return None;
    }
    let lexed = lexer(s);
    if lexed.as_ref().is_some_and(|h| h.confidence >= 90) {
        return lexed;
    }
    let shaped = if keyword || s.has_any(QUOTES) || boolean_head(s.lower) {
        shapes(s)
    } else {
        None
    };
    match (lexed, shaped) {
        (Some(l), Some(sh)) => Some(if sh.score() > l.score() { sh } else { l }),
        (l, sh) => l.or(sh),
    }
}

fn shapes(s: &Subject<'_>) -> Option<Hit> {
    if s.is_key && s.decoded.len() < 3 {
        return None;
    }
    // every shape holds a quote, a parenthesis, a `;` or one of the trigger
    // `KEYWORDS` (`union`, `select`, ` and `, `order by`, `xp_`...): without
    // them, only the comment-split reading below can find one
    let keyword = s.triggered(super::T_SQL);
    let shape_gate = keyword || s.has_any(SHAPE_CHARS);
    let probe_gate = keyword || boolean_head(s.lower);
    if shape_gate || probe_gate {
        // "Union Select fabric softener": a value that *starts* with the
        // words is a name unless a select list follows; read what comes
        // after them
        let body = match UNION_HEAD.get().find(s.lower) {
            Some(m) if UNION_SQL.find(s.lower).is_none() => s.lower.get(m.end()..).unwrap_or(""),
            _ => s.lower,
        };
        let found = [
            (shape_gate, &SHAPES, "sqli.shape", 90, "SQL injection shape"),
            (probe_gate, &PROBES, "sqli.probe", 85, "SQL injection probe"),
        ]
        .into_iter()
        .find_map(|(gate, re, rule, conf, msg)| {
            gate.then(|| re.find(body))
                .flatten()
                .map(|at| (at, rule, conf, msg))
        });
        if let Some((at, rule, conf, msg)) = found {
            let at = at + (s.lower.len() - body.len());
            return Some(Hit::new("sqli", rule, Severity::Critical, conf, msg).near(s.lower, at));
        }
    }
    // comments splitting keywords: `un/**/ion sel/**/ect`
    if s.lower.contains(' ') && (s.raw.contains("/*") || s.decoded.contains("/*")) {
        let squeezed =
            crate::decode::squeeze(&crate::decode::normalize(&s.decoded.replace("/*", " /*")));
        let joined = crate::decode::normalize(&strip_comments(s.decoded));
        if let Some(at) = SHAPES.find(&joined) {
            return Some(
                Hit::new(
                    "sqli",
                    "sqli.shape",
                    Severity::Critical,
                    90,
                    "SQL injection split by comments",
                )
                .near(&joined, at),
            );
        }
        if squeezed.contains("unionselect") || squeezed.contains("unionallselect") {
            return Some(
                Hit::new(
                    "sqli",
                    "sqli.shape",
                    Severity::Critical,
                    85,
                    "SQL injection split by comments",
                )
                .near(&squeezed, 0),
            );
        }
    }
    None
}

/// The value starts with a boolean operator: `or true--`, `AND 1=2)`.
fn boolean_head(lower: &str) -> bool {
    let t = lower.trim_start().as_bytes();
    [&b"and"[..], b"or", b"xor", b"&&", b"||"]
        .iter()
        .any(|w| t.starts_with(w))
}

/// Removes `/* ... */` comments entirely (MySQL joins the halves of `un/**/ion`
/// only in the attacker's imagination, but some filters and parsers do).
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find("*/") {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The lexer's verdict, as a hit.
fn lexer(s: &Subject<'_>) -> Option<Hit> {
    let m = palisade_lexers::sqli(s.decoded)?;
    let msg = format!(
        "SQL injection (fingerprint {} in {} context)",
        m.fingerprint, m.context
    );
    Some(
        Hit::new(
            "sqli",
            "sqli.lexer",
            Severity::Critical,
            m.confidence.max(60),
            msg,
        )
        .near(s.decoded, 0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "select",
        "union",
        "all",
        "distinct",
        "from",
        "information_schema",
        "tables",
        "sleep",
        "benchmark",
        "exp",
        "(",
        ")",
        "1",
        "2",
        "=",
        "<>",
        "or",
        "and",
        "xor",
        "not",
        "'",
        "\"",
        "`",
        ";",
        "--",
        "#",
        "/*",
        "order",
        "group",
        "by",
        "having",
        "case",
        "when",
        "then",
        "::",
        "int",
        "json_extract",
        "jsonb",
        "@>",
        "->>",
        "[",
        "{",
        "cast",
        "as",
        "char",
        "x",
        "@@version",
        "waitfor",
        "delay",
        "0x41414141",
        "concat",
        "if",
        "||",
        "+",
        "&",
        "drop",
        "table",
        "into",
        "outfile",
        "join",
        "true",
        "null",
        "like",
        "xp_cmdshell",
        "pg_sleep",
        "a.b",
        " ",
        "  ",
        "$",
        "@",
        ",",
        "mysql.user",
        "dual",
        "count",
        "version",
        "exec",
        "declare",
        "shutdown",
    ];

    fn holds_a_shape_key(lower: &str) -> bool {
        let ascii = crate::detectors::ascii_mask(lower);
        crate::detectors::triggers(lower) & crate::detectors::T_SQL != 0 || ascii & SHAPE_CHARS != 0
    }

    proptest! {
        /// `shapes` reads `SHAPES` only when the value holds a quote, a
        /// parenthesis, a `;` or a trigger keyword: no match lacks them all.
        #[test]
        fn every_shape_holds_a_key(
            parts in prop::collection::vec(prop::sample::select(PIECES), 0..14),
            glue in prop::sample::select(&[" ", "", "+", "/"][..]),
        ) {
            let v = parts.join(glue);
            let lower = crate::decode::normalize(&v);
            if SHAPES.find(&lower).is_some() {
                prop_assert!(holds_a_shape_key(&lower), "{:?}", lower);
            }
        }
    }

    #[test]
    fn shapes_without_keys_are_none() {
        for v in [
            "https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}",
            "a=b&c=d",
            "x == y <> z",
        ] {
            let lower = crate::decode::normalize(v);
            assert!(!holds_a_shape_key(&lower), "{v}");
            assert!(SHAPES.find(&lower).is_none(), "{v}");
        }
    }

    #[test]
    fn shapes() {
        for a in [
            "1' or '1'='1",
            "x' union select password from users--",
            "un/**/ion%2520select 1,2",
            "1; drop table users --",
            "admin'--",
            "1 and sleep(5)",
            "1 AND 1=1",
            "'; waitfor delay '0:0:5'--",
            "AND 2771=1709)",
            "OR (7319=8742)",
            "INFORMATION_SCHEMA",
            "xp_cmdshell",
            "declare @b",
            "OR '{\"a\":\"b\"}' ? 'a'",
            "DROP sampletable;--",
            "or true--",
            "' grant connect to name; --",
            "' insert into users(login) values('x')",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "O'Brien",
            "select a plan",
            "drop us a line",
            "union station",
            "1=1 is true",
            "Pay Mr. O'Neil 10$",
            "I'd like to select the premium plan, and union it with the basic one from our account",
            "or 2 more",
            "and then (see above)",
            "declare your income",
            "grant access to the team",
            "I'd insert into the form",
            "sp_500",
            "tempdb? no idea",
            "(see above) as noted from HQ",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
