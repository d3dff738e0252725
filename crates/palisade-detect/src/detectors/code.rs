//! Code injection into interpreters the API runs on: PHP (open tags,
//! dangerous functions with a call, superglobals, serialized objects, stream
//! wrappers), Java (runtime and reflection classes, OGNL / SpEL, Spring4Shell
//! class-loader paths, serialized objects), Node.js (`child_process`,
//! `process.mainModule`) and Python (`__import__`, `os.system`).

use super::{Hit, Lazy, Subject, Words, mask};
use crate::extract::Part;
use palisade_core::Severity;

pub(crate) const JAVA_WORDS: &[&str] = &[
    "java",
    "processbuilder",
    "runtime",
    "classloader",
    "ognl",
    "memberaccess",
    "ro0ab",
    "aced",
    "h4sia",
    "kztaau",
    "cs7qaf",
    "org.apache",
    "springframework",
    "xalan",
    "groovy",
    "rowset",
    "transformer",
    "templatesimpl",
    "#context",
    "(#",
    "opensymphony",
    "com.sun.",
    "javax.",
    "org.omg.",
    "bsh.",
    "xwork",
];
pub(crate) const SCRIPT_WORDS: &[&str] = &[
    "require",
    "process",
    "constructor",
    "__import__",
    "os.",
    "subprocess",
    "exec",
    "pickle",
    "kernel",
    "popen",
    "getruntime",
    "_$$nd_func",
    "@{",
    "!!",
    "!ruby/",
    "resume next",
    "createobject",
    "wscript",
    "while(",
    "while (",
    "for(;",
    "for (;",
    "new function",
    "module.exports",
    "__js_function",
    "do{",
    "do {",
];

/// Server-side include directives (`<!--#exec cmd="id"-->`, `#include`).
static SSI: Lazy = Lazy::new(
    r"<!--\s*#\s*(exec|include|echo|config|set|printenv|fsize|flastmod|if|elif)\b|<\s*esi:(include|debug|vars|inline|choose|when|assign|eval|try|attempt|remove)\b",
);
static PHP_STRONG: Lazy = Lazy::new(concat!(
    r"<\?(\s*php\b|=|\s*(echo|print|system|eval|include|require|passthru|exec)\b|\s*\$\w)|\$_(get|post|request|cookie|server|files|env|session)\b\s*\[|\bphp://(input|filter|fd)",
    r#"|\b(shell_exec|passthru|proc_open|popen|pcntl_exec|assert|create_function|call_user_func(_array)?|base64_decode|gzinflate|str_rot13|file_put_contents|fsockopen|move_uploaded_file|phpinfo|preg_replace|array_map|unserialize|highlight_file|show_source|system|exec|eval)\s*\(\s*['"`$\w]"#,
    r#"|\b[oc]:\d+:\s*"\w[\w\\]*"\s*:\s*\d+\s*:\s*\{|\ba:\d+:\s*\{\s*[is]:\d"#,
    r"|\$\{\s*@?\s*(system|eval|exec)|\$\w+\s*\(\s*\$_",
    // names only PHP has, called even without arguments
    r"|\b(base64_decode|gzinflate|gzuncompress|gzdecode|bzdecompress|str_rot13|call_user_func(_array)?|create_function|shell_exec|proc_open|pcntl_exec|fsockopen|move_uploaded_file|phpinfo|highlight_file|show_source|get_defined_vars|ini_set)\s*\(",
    // the whole value is a variable function call: $a(1), $$b(2), @$__[o](4)
    r"|^\s*@?\$+[a-z_]\w*(\[[^\]]*\])*\s*\([^()]*\)\s*;?\s*$",
    // variable functions and casts that hide the name called:
    // (system)('id'), ("sys")("id"), (string)"system"('id'), ${'a'}, ${@a}(1),
    // $__[$_[1]](7), $OOO0{0}(1)
    r#"|\(\s*['"$]?[a-z_][\w.'" $]{2,40}\)\((\s*['"$][^()]{0,40}\)|[^()\s]{0,40}\)\s*;)|\(\s*string\s*\)\s*['"{\[]"#,
    // a string or an array element called: "system"(ls), [system][0](ls)
    r#"|['"][a-z_]\w{2,30}['"]\((\s*['"$][^()]{0,40}\)|[^()\s]{0,40}\)\s*;)|\[\s*['"]?[a-z_]\w+['"]?\s*\]\s*\[\s*\d+\s*\]\s*\("#,
    // PHP built-ins only webshells and probes call
    r"|\b(posix_\w+|pfsockopen|curl_(init|exec|multi_exec)|get_defined_\w+|zlib_decode|php_uname|phpversion|assert_options|register_shutdown_function|stream_socket_client|socket_create|set_error_handler|error_log|ini_(get|set|restore)|proc_\w+|pcntl_\w+|mb_ereg_replace|preg_replace_callback|file_(get|put)_contents|readfile|fpassthru|fputcsv|scandir|opendir|getcwd|var_dump|print_r|var_export|dns_get_record)\s*\(",
    r#"|\$\s*\{\s*['"@$]|\$[a-z_]\w*\s*\[[^\]]{0,40}\]\]?\s*\(|\$[a-z_]\w*\s*\{\s*\w+\s*\}\s*\("#,
));
static JAVA: Lazy = Lazy::new(concat!(
    r"\bjava\.(lang\.(runtime|processbuilder|reflect|classloader|system\b|class\b|thread|process\b)|io\.(file\w*|objectinputstream)|net\.(url|socket)|beans\.xmldecoder|util\.priorityqueue)",
    r"|\bjava\.[\w.]*(runtime|processbuilder)\b|\bjava\.evil\.",
    r"|\bjavax\.(script|naming|management)|\bgetruntime\s*\(\s*\)\s*\.\s*exec|\bnew\s+processbuilder\b|\bclass\.forname\s*\(",
    r#"|\bclass\.(module\.)?classloader\b|\b(class|module)\[['"`]?classloader|#_memberaccess|@ognl\.|\bognlcontext\b|#context\[|\(#\w+="#,
    r"|\b(org\.apache\.commons\.collections\d?\.(functors|keyvalue)|org\.springframework\.\w+\.\w+|com\.sun\.org\.apache|org\.codehaus\.groovy\.runtime|com\.sun\.rowset\.jdbcrowsetimpl|com\.opensymphony\.xwork2|invokertransformer|chainedtransformer|templatesimpl)",
    r"|\b(processbuilder|runtime|java\.\w+)\b.{0,80}\b(clonetransformer|forclosure|instantiatefactory|instantiatetransformer|invokertransformer|prototypeclonefactory|prototypeserializationfactory|whileclosure|chainedtransformer|constanttransformer)\b",
    r"|\bro0ab|\bkztaau|\bcs7qaf|\baced0005|\\xac\\xed\\x00\\x05|%ac%ed%00%05|\bh4siaaaaaaaa",
));
/// Words without one of which a parameter name cannot match [`JAVA`] or
/// [`JAVA_CLASS`]: JSON paths are long and dotted, most are plain.
static JAVA_NAME: Words = Words::new(&[
    "java",
    "class",
    "org.",
    "com.",
    "ognl",
    "memberaccess",
    "#context",
    "(#",
    "runtime",
    "processbuilder",
    "transformer",
    "templatesimpl",
    "ro0ab",
    "aced",
    "h4sia",
    "kztaau",
    "cs7qaf",
    "%ac%ed",
    "\\xac",
]);
/// Java class names in a value: gadget-chain material, weaker alone.
static JAVA_CLASS: Lazy = Lazy::new(
    r"\b(java\.(io|lang|net|nio|rmi|beans|security|util\.(priorityqueue|hashmap|hashset|comparator))\.[a-z]\w+|org\.apache\.commons|com\.sun\.\w+|javax\.\w+\.\w+|org\.omg\.corba|com\.opensymphony\.xwork2|bsh\.(interpreter|xthis))",
);
static NODE_PY: Lazy = Lazy::new(concat!(
    r#"\brequire\s*\(\s*['"`](child_process|fs|net|vm)['"`]\s*\)|\bprocess\.(mainmodule|binding|env)\b|\bchild_process\b|\.constructor\s*\(\s*['"`]return\s"#,
    r#"|\b__import__\s*\(\s*['"`]|\bos\.(system|popen|exec\w*)\s*\(|\bsubprocess\.(call|popen|run|check_output)\s*\(|\bexec\s*\(\s*compile\s*\(|\bpickle\.loads\s*\("#,
    r#"|_\$\$nd_func\$\$_|\bprocess\s*\[\s*['"`]?\w|\bglobal\.process\b"#,
    r"|\bkernel\.(exec|system|spawn|open)\b|\bio\.popen\s*\(|\bruntime\.getruntime\b",
    // unsafe YAML tags that construct objects: Python, Ruby, Java (SnakeYAML)
    r"|!!python/(object|name|module)|!ruby/(object|hash|struct)|!!javax?\.\w+|!!com\.sun\.",
    // classic ASP / VBScript code
    r"|\bon error resume next\b|\b(server\.createobject|wscript\.shell|createobject\s*\(\s*['\x22]wscript)",
    // JavaScript sandbox escapes
    r"|\bconstructor\s*\.\s*constructor\b|\bconstructor\s*\[\s*['\x22`]constructor|\bnew\s+function\s*\(\s*['\x22`)]",
    // JavaScript that hangs the server (while(!0), for(;;)) or replaces a module
    r"|\bwhile\s*\(+\s*[!+\-~]*\s*(true|false|infinity|nan|null|undefined|this|string|new\s+\w+|\d+|''|\x22\x22|``|\[\]|\{\})\s*\)+\s*(;|\{|$)|\bfor\s*\(\s*;\s*;\s*\)\s*(\{|;|$)",
    r"|\bmodule\.exports\s*=|\b__js_function\b|\bdo\s*\{[^}]{0,80}\}\s*while\s*\(",
    // Perl interpolation running code: @{[ system 'id' ]}, @{[getpwuid($>)]}
    r"|@\{\s*\[[^\]]{0,80}\]\s*\}",
));

/// Whether a value made only of word characters (which skips the value
/// detectors) is a Java serialized object: base64 or hex of the stream magic
/// `AC ED 00 05` (plain or gzip'd) at its start.
pub fn serialized_magic(v: &str) -> bool {
    ["rO0AB", "KztAAU", "Cs7QAF"]
        .iter()
        .any(|m| v.starts_with(m))
        || v.get(..8)
            .is_some_and(|h| h.eq_ignore_ascii_case("aced0005"))
}

/// A name holding one of the [`JAVA_NAME`] words.
pub(crate) fn java_name(name: &str) -> bool {
    JAVA_NAME.find(name).is_some()
}

/// A parameter name holding the start of a serialized Java object.
pub fn serialized_name(name: &str) -> bool {
    static MAGIC: Words = Words::new(&["ro0ab", "kztaau", "cs7qaf", "aced0005"]);
    // every magic holds one of these pairs (base64 is case-sensitive; the
    // hex one is `00` in any case): most names have none of them
    let b = name.as_bytes();
    b.len() >= 5
        && memchr::memchr3(b'0', b'A', b'Q', b).is_some()
        && b.windows(2).any(|w| {
            matches!(
                w,
                [b'O', b'0'] | [b'o', b'0'] | [b'A', b'A'] | [b'7', b'Q'] | [b'0', b'0']
            )
        })
        && MAGIC.find(name).is_some()
}

pub fn detect(s: &Subject<'_>) -> Option<Hit> {
    // XML element and attribute names are markup, not parameters a
    // deserializer reads
    if s.part != Part::Xml && super::name_flags(s.name) & super::NAME_SERIALIZED != 0 {
        return Some(
            Hit::new(
                "code",
                "code.java",
                Severity::Critical,
                90,
                "serialized Java object in a parameter name",
            )
            .near(s.name, 0),
        );
    }
    // the name itself: Spring4Shell's class.module.classLoader...=
    // (not XML element names: markup, not properties a binder sets)
    if s.part != Part::Xml && super::name_flags(s.name) & super::NAME_JAVA != 0 {
        let name = s.name.to_ascii_lowercase();
        if let Some(at) = JAVA.find(&name).or_else(|| JAVA_CLASS.find(&name)) {
            return Some(
                Hit::new(
                    "code",
                    "code.java",
                    Severity::Critical,
                    95,
                    "Java class or class-loader path in a parameter name",
                )
                .near(&name, at),
            );
        }
    }
    let lower = s.lower;
    if lower.len() < 5 {
        return None;
    }
    if s.has_any(mask(b"<"))
        && (s.has("<!--") || s.has("esi:"))
        && let Some(at) = SSI.find(lower)
    {
        return Some(
            Hit::new(
                "code",
                "code.ssi",
                Severity::Critical,
                90,
                "server-side or edge-side include directive",
            )
            .near(lower, at),
        );
    }
    if s.has_any(mask(b"(<${:"))
        && let Some(at) = PHP_STRONG.find(lower)
    {
        return Some(
            Hit::new(
                "code",
                "code.php",
                Severity::Critical,
                90,
                "PHP code injection",
            )
            .near(lower, at),
        );
    }
    {
        if s.triggered(super::T_JAVA)
            && let Some(at) = JAVA.find(lower)
        {
            return Some(
                Hit::new(
                    "code",
                    "code.java",
                    Severity::Critical,
                    90,
                    "Java code or object injection",
                )
                .near(lower, at),
            );
        }
        if s.triggered(super::T_JAVA)
            && let Some(at) = JAVA_CLASS.find(lower)
        {
            return Some(
                Hit::new(
                    "code",
                    "code.java_class",
                    Severity::High,
                    95,
                    "Java class name in a value",
                )
                .near(lower, at),
            );
        }
        if s.triggered(super::T_SCRIPT)
            && let Some(at) = NODE_PY.find(lower)
        {
            return Some(
                Hit::new(
                    "code",
                    "code.script",
                    Severity::Critical,
                    90,
                    "server-side script injection",
                )
                .near(lower, at),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::test_util::run;

    #[test]
    fn shapes() {
        for a in [
            "<?php system($_GET['c']); ?>",
            "java.lang.Runtime",
            "${T(java.lang.Runtime).getRuntime().exec('id')}",
            "rO0ABXNyABdqYXZh",
            "require('child_process').exec('id')",
            "__import__('os').system('id')",
            "O:8:\"stdClass\":1:{s:1:\"a\";i:1;}",
            "system('id')",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "the system is down",
            "please exec the plan",
            "java is an island",
            "Type: java.util.List",
            "order #12",
            "my array_map",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }

    #[test]
    fn hidden_calls_and_server_side_javascript() {
        for a in [
            "(system)('uname');",
            "(system)(ls);",
            "\"system\"(ls);",
            "[system][0](ls);",
            "${'ff'}",
            "$__[$_[1]](7)",
            "${@a}(10)",
            "(string)\"system\"('uname');",
            "pfsockopen('foo', 25)",
            "posix_getpwuid(0)",
            "<? php echo 1",
            "while(!false);",
            "while(1){}",
            "for(;;){}",
            "new Function()",
            "module.exports=1",
            "@{[getpwuid($>)]}",
            "KztAAU",
            "<esi:include src=http://evil.example/>",
            "';it=new Date();do{pt=new Date();}while(pt-it<5000);",
        ] {
            assert!(run(detect, a).is_some(), "{a}");
        }
        for b in [
            "this is a \"dog\" (not a cat)",
            "options (a) (b)",
            "while (true) is a loop",
            "for (;;) is an idiom",
            "a new function (beta) for payouts",
            "print receipts (PDF)",
            "price ${amount}",
            "Total: ${amount} (USD)",
            "$[5] (USD)",
            "Currency pair (USD)(EUR)",
            "quote \"usd\"(spot)",
        ] {
            assert!(run(detect, b).is_none(), "{b}");
        }
    }
}
