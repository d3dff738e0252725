//! Deterministic generator of realistic, legitimate traffic for a payments
//! API (JSON, form, query, multipart and SOAP requests; names like O'Brien;
//! free text with words like select, union, drop, script, alert), in the
//! corpus JSONL format, label `benign`. Its output is committed as
//! `testdata/benign-payments.jsonl`; regenerate with
//! `cargo run -p palisade-detect --example gen_benign -- testdata/benign-payments.jsonl`.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Value, json};

/// xorshift64*: deterministic across platforms and crate versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.next() % 100 < pct
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn alnum(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n).map(|_| char::from(A[self.below(A.len())])).collect()
    }
    fn uuid(&mut self) -> String {
        let h = format!("{:016x}{:016x}", self.next(), self.next());
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }
}

const FIRST: &[&str] = &[
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "José",
    "Zoë",
    "Siobhán",
    "Mary-Kate",
    "Jean-Luc",
    "Chloé",
    "Aoife",
    "Björn",
    "Ngozi",
    "Wei",
    "Priya",
    "Mohammed",
    "Anna-Lena",
    "D'Arcy",
    "Renée",
    "Łukasz",
    "Søren",
    "Hannah",
];
const LAST: &[&str] = &[
    "O'Brien",
    "O'Neil",
    "D'Angelo",
    "Smith",
    "Müller",
    "García Márquez",
    "van der Berg",
    "Nguyen",
    "McDonald",
    "Al-Hassan",
    "Da Silva",
    "Smith-Jones",
    "L'Écuyer",
    "Ó Súilleabháin",
    "Dell'Acqua",
    "Johnson",
    "Kowalski",
    "St. John",
    "Union",
    "Select",
    "Drop",
];
const STREETS: &[&str] = &[
    "1st Ave & 5th St",
    "221B Baker Street",
    "Apt #4, 12 Rue de l'Église",
    "PO Box 77; Suite 300",
    "Calle 5 #12-34",
    "10 Downing St.",
    "742 Evergreen Terrace (rear)",
    "Unit 3/15 George St",
    "1600 Amphitheatre Pkwy",
    "Flat 2, 'The Old Mill'",
];
const CITIES: &[&str] = &[
    "Dublin",
    "São Paulo",
    "Zürich",
    "New York",
    "L'Aquila",
    "Köln",
    "Montréal",
    "Union City",
    "Select Springs",
    "Drop Bay",
];
const TEXT: &[&str] = &[
    "Please select the union plan for our team",
    "Drop off at the back door, ring twice",
    "Order by phone: (555) 010-0199",
    "Script for the onboarding call is attached",
    "Alert me when the payout lands",
    "Insert card and enter PIN; then select 'credit'",
    "Update my address to the one on file",
    "Delete my old card ending 4242 please",
    "Fish & Chips -- table for 2; cash or card",
    "50% off -- today only!",
    "It's 5 o'clock; let's ship it",
    "Re: invoice #1234 -- see attached (v2)",
    "Rock 'n' roll merch, size M/L",
    "Refund: customer said \"wrong size\"",
    "Join the union or drop the class, your call",
    "Select * items from the catalogue you like",
    "Where 1 = 1 in our bundle, you get 2 for 1",
    "Thanks! <3",
    "Price < 100 and > 50 EUR",
    "Use code SAVE10 at checkout (expires 12/31)",
    "Call me at +44 20 7946 0958 or email o'brien+billing@example.ie",
    "I want to cancel; the product didn't work.",
    "Dispute: item not received, tracking says delivered to 'front porch'",
    "Customer wrote: \"Why was I charged twice??\"",
    "See https://merchant.example/orders/1234?ref=email for details",
    "C:\\Users\\finance\\exports\\q3.csv was uploaded",
    "Monthly plan - 12 x 9.99 USD",
    "Her name is Ann O'Connor-Smith (née Walsh)",
    "Delivery window 9am-5pm; leave with neighbour at #12",
    "Don't drop the table, it's glass!",
    "select your preferred union rep at the meeting",
    "Javascript developer workshop ticket",
    "<b>Important:</b> renew before Friday",
    "Executive summary & action items",
    "Echo Park meetup ticket x2",
    "ping me when done | thanks",
    "Happy birthday!!! :) ;-)",
    "Tom & Jerry's Diner, table 5",
    "Research & development; cost center 42",
    "Reminder: system maintenance tonight 1:00-3:00",
];
const PRODUCTS: &[&str] = &[
    "Pro plan (annual)",
    "T-shirt – size M",
    "Café latte x2",
    "Gift card €50",
    "Select Comfort pillow",
    "Union Jack flag",
    "Drop-in session",
    "Script writing course",
    "Alert module add-on",
    "Table 'Oslo' oak",
];
/// Support tickets and free text as developers and customers write them:
/// Markdown, inline code, SDK snippets, many languages and scripts, HTML
/// e-mail templates, `<` and `>` in prose, questions about security.
const TICKETS: &[&str] = &[
    "Hi team,\n\nthe `POST /v1/charges` call fails with `{\"error\": \"card_declined\"}` since 09:00. Any idea?",
    "Steps:\n1. Go to *Settings* → *Billing*\n2. Click **Update card**\n3. Error: \"Something went wrong\"",
    "curl https://api.example.com/v1/charges -u sk_test_4eC39HqLyjWDarjtT1zdp7dc: -d amount=2000 -d currency=eur",
    "fetch('/v1/charges', {method: 'POST', body: JSON.stringify(payload)}).then(r => r.json())",
    "requests.post(url, json=payload, headers={'Idempotency-Key': key})",
    "Bonjour, je voudrais un remboursement pour la commande n° 4521 — merci !",
    "Hallo, bitte die Rechnung an die neue Adresse (Straße 5) schicken.",
    "您好，我的订单还没有到，请帮忙查一下。",
    "Здравствуйте! Оплата не прошла, попробую позже.",
    "こんにちは、領収書を再発行してください。",
    "مرحبا، أريد إلغاء الاشتراك من فضلك",
    "Olá! O pagamento via Pix falhou às 14h.",
    "## Release notes\n- Fixed `<Select>` dropdown in checkout\n- Added <kbd>Ctrl</kbd>+<kbd>K</kbd> search\n> Note: amounts < 0.50 EUR are rejected",
    "<p>Hello <strong>Anna</strong>,</p><p>Your invoice is attached.</p>",
    "Our designers say <svg></svg> icons don't render in the receipt",
    "Is your API protected against SQL injection and XSS attacks? Our auditor asked about union-based injection.",
    "We got an email saying 'select your plan or your account will be deleted' - is it phishing?",
    "Price: 5 < 10 > 3, see section \"Limits\" for details",
    "The event \"onboarding=done\" never arrives at our webhook",
    "Use {{customer.name}} and ${amount} placeholders in the email template",
    "Ref: INV/2026/04/0012 - paid via SEPA; IBAN DE89 3704 0044 0532 0130 00",
    "C'est l'été! Réduction -20% sur tout, code ÉTÉ20",
    "He said \"don't\" and 'won't' — then left",
    "file: /exports/2026/Q1/report[final].csv",
    "Path was C:\\Program Files\\Acme\\config.ini on the POS terminal",
    "SELECT plan: Pro; UNION dues: 12 EUR; DROP-OFF: Dock 3",
    "Version 2.3.1 (build 4512) -- see CHANGELOG.md",
    "1 OR 2 tickets, whichever is cheaper",
    "cast(iron) skillet, 26 cm",
    "x = a->b; y = c::d; // C++ snippet from the SDK",
    "If you see {\"status\": \"requires_action\"} call stripe.handleCardAction(clientSecret)",
    "Window (1.2m × 0.8m) replacement — frame colour: white",
];
/// Product names with SQL, shell and HTML words in them.
const CATALOG: &[&str] = &[
    "Union Select fabric softener 2L",
    "Oak drop table, seats 4",
    "Script & Alert Pro bundle (3 licences)",
    "Cat 6 cable / 5 m",
    "Echo Dot (5th gen) <refurbished>",
    "\"Sleep Well\" pillow set",
    "Insert coin arcade cabinet",
    "Update: winter boots -30%",
];
/// A 1x1 PNG, as clients upload receipts and signatures.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const CURRENCIES: &[&str] = &["usd", "eur", "gbp", "brl", "jpy", "chf"];
const UAS: &[&str] = &[
    "Stripe/v1 PythonBindings/7.1.0",
    "okhttp/4.12.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "axios/1.6.7",
    "Go-http-client/2.0",
    "python-requests/2.31.0",
    "PostmanRuntime/7.36.1",
    "curl/8.5.0",
    "Java/17.0.9",
    "MyShop-iOS/5.2 (build 311; iOS 17.2; iPhone15,2)",
];

fn pct(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(char::from(b));
        } else if b == b' ' {
            o.push('+');
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

fn luhn_card(r: &mut Rng) -> String {
    let prefix = r.pick(&["4", "51", "37", "6011"]);
    let len = if prefix == "37" { 15 } else { 16 };
    let mut d: Vec<u8> = prefix.bytes().map(|b| b - b'0').collect();
    while d.len() < len - 1 {
        d.push(r.below(10) as u8);
    }
    let mut sum = 0;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = u32::from(x);
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    d.push(((10 - sum % 10) % 10) as u8);
    d.into_iter().map(|x| char::from(b'0' + x)).collect()
}

fn name(r: &mut Rng) -> String {
    format!("{} {}", r.pick(FIRST), r.pick(LAST))
}

fn email(r: &mut Rng) -> String {
    let local = r
        .pick(FIRST)
        .to_lowercase()
        .replace(['\'', 'é', 'ö', 'ø', 'ł', 'á', 'ë', ' '], "");
    format!(
        "{local}{}{}@{}",
        if r.chance(30) { "+billing" } else { "" },
        r.digits(2),
        r.pick(&[
            "example.com",
            "mail.example.org",
            "exemple.fr",
            "example.co.uk"
        ])
    )
}

fn base_headers(r: &mut Rng, ct: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![
        ("Host".to_string(), "api.payments.example".to_string()),
        ("User-Agent".to_string(), r.pick(UAS).to_string()),
        ("Accept".to_string(), "application/json".to_string()),
    ];
    h.push((
        "Authorization".into(),
        format!("Bearer sk_test_{}", r.alnum(24)),
    ));
    if let Some(ct) = ct {
        h.push(("Content-Type".into(), ct.to_string()));
    }
    if r.chance(60) {
        h.push(("Idempotency-Key".into(), r.uuid()));
    }
    if r.chance(40) {
        h.push(("X-Request-Id".into(), r.uuid()));
    }
    if r.chance(20) {
        h.push((
            "Accept-Language".into(),
            r.pick(&[
                "en-US,en;q=0.9",
                "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5",
                "pt-BR",
            ])
            .into(),
        ));
    }
    if r.chance(15) {
        h.push((
            "Referer".into(),
            format!(
                "https://dashboard.payments.example/customers/cus_{}?tab=payments&q={}",
                r.alnum(14),
                pct(r.pick(LAST))
            ),
        ));
        h.push((
            "Cookie".into(),
            format!(
                "session={}; theme=dark; _ga=GA1.2.{}.{}",
                r.alnum(32),
                r.digits(9),
                r.digits(10)
            ),
        ));
    }
    if r.chance(10) {
        h.push((
            "traceparent".into(),
            format!("00-{:016x}{:016x}-{:016x}-01", r.next(), r.next(), r.next()),
        ));
    }
    h
}

fn metadata(r: &mut Rng) -> Value {
    let mut m = serde_json::Map::new();
    if r.chance(50) {
        m.insert("order_id".into(), json!(format!("ord_{}", r.digits(8))));
    }
    if r.chance(40) {
        m.insert("note".into(), json!(r.pick(TEXT)));
    }
    if r.chance(20) {
        m.insert(
            "campaign".into(),
            json!(r.pick(&[
                "spring-sale",
                "union_members_2024",
                "drop-ship",
                "select-tier"
            ])),
        );
    }
    Value::Object(m)
}

fn row(
    id: usize,
    category: &str,
    method: &str,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
) -> Value {
    json!({"id": format!("bp-{id}"), "source": "palisade-gen", "label": "benign", "category": category, "method": method, "target": target,
           "version": "HTTP/1.1", "headers": headers, "body": body, "meta": {"generator": "gen_benign", "seed": 20261121}})
}

fn json_request(r: &mut Rng, id: usize) -> Value {
    let kind = r.below(8);
    let cur = r.pick(CURRENCIES);
    let (path, body) = match kind {
        0 => (
            "/v1/charges".to_string(),
            json!({"amount": r.below(100_000) + 50, "currency": cur, "description": r.pick(TEXT), "source": {"object": "card", "number": luhn_card(r), "exp_month": r.below(12) + 1, "exp_year": 2027 + r.below(5), "cvc": r.digits(3), "name": name(r)},
                   "receipt_email": email(r), "metadata": metadata(r), "statement_descriptor": r.pick(&["ACME* UNION", "SELECT STORE", "DROP & GO LTD", "O'BRIEN'S PUB"])}),
        ),
        1 => (
            "/v1/customers".to_string(),
            json!({"name": name(r), "email": email(r), "phone": format!("+1 (555) {}-{}", r.digits(3), r.digits(4)),
                   "address": {"line1": r.pick(STREETS), "line2": if r.chance(30) { Value::from("c/o Mr. O'Malley") } else { Value::Null }, "city": r.pick(CITIES), "postal_code": r.digits(5), "country": r.pick(&["US", "IE", "FR", "BR", "DE"])},
                   "preferred_locales": ["en", "fr"], "metadata": metadata(r), "tax_exempt": r.pick(&["none", "exempt", "reverse"])}),
        ),
        2 => (
            format!("/v1/charges/ch_{}/refunds", r.alnum(24)),
            json!({"amount": r.below(5000) + 1, "reason": r.pick(&["requested_by_customer", "duplicate", "fraudulent"]), "metadata": {"comment": r.pick(TEXT), "agent": name(r)}}),
        ),
        3 => (
            format!("/v1/disputes/dp_{}", r.alnum(24)),
            json!({"evidence": {"customer_name": name(r), "customer_email_address": email(r), "uncategorized_text": format!("{} {} {}", r.pick(TEXT), r.pick(TEXT), r.pick(TEXT)),
                   "product_description": r.pick(PRODUCTS), "shipping_address": format!("{}, {}", r.pick(STREETS), r.pick(CITIES)), "shipping_tracking_number": format!("1Z{}", r.alnum(16))}, "submit": r.chance(50)}),
        ),
        4 => (
            "/v1/webhook_endpoints".to_string(),
            json!({"url": format!("https://{}.example.com/hooks/payments?token={}", r.pick(&["shop", "billing", "api"]), r.alnum(20)), "enabled_events": ["charge.succeeded", "charge.refunded", "payout.paid"], "description": r.pick(TEXT), "api_version": "2024-06-20"}),
        ),
        6 => (
            "/v1/support/tickets".to_string(),
            json!({"subject": r.pick(TICKETS).lines().next().unwrap_or(""), "body": format!("{}\n\n{}", r.pick(TICKETS), r.pick(TICKETS)),
                   "locale": r.pick(&["en-GB", "fr-FR", "de-DE", "zh-CN", "ru-RU", "ja-JP", "ar-EG", "pt-BR"]), "customer": format!("cus_{}", r.alnum(14)),
                   "id_token": JWT, "attachments": [{"filename": r.pick(&["receipt.png", "signature.png", "Screenshot 2026-03-01 at 10.42.13.png"]), "content_type": "image/png", "data": PNG_1X1},
                                                     {"filename": "data-uri.txt", "data": format!("data:image/png;base64,{PNG_1X1}")}]}),
        ),
        7 => (
            "/v1/products".to_string(),
            json!({"name": r.pick(CATALOG), "external_id": format!("{}{}", r.digits(12), r.digits(12)), "description": r.pick(TICKETS),
                   "webhook_url": format!("https://hooks.slack.com/services/T{}/B{}/{}", r.alnum(8), r.alnum(8), r.alnum(24)),
                   "return_url": format!("https://shop.example.com/callback?next=/dashboard&lang={}#section-{}", r.pick(&["en", "fr"]), r.below(9)),
                   "images": [format!("https://cdn.example.com/p/{}.jpg?w=640&h=480&fit=crop", r.alnum(10))]}),
        ),
        _ => (
            "/v1/checkout/sessions".to_string(),
            json!({"mode": "payment", "success_url": "https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}", "cancel_url": "https://shop.example.com/cart",
                   "line_items": (0..r.below(4) + 1).map(|_| json!({"price_data": {"currency": cur, "unit_amount": r.below(9000) + 100, "product_data": {"name": r.pick(PRODUCTS), "description": r.pick(TEXT)}}, "quantity": r.below(3) + 1})).collect::<Vec<_>>(),
                   "customer_email": email(r), "locale": "auto", "metadata": metadata(r)}),
        ),
    };
    let method = if kind == 3 { "PUT" } else { "POST" };
    row(
        id,
        "json",
        method,
        path,
        base_headers(r, Some("application/json")),
        body.to_string(),
    )
}

fn form_request(r: &mut Rng, id: usize) -> Value {
    let mut pairs: Vec<(String, String)> = vec![
        ("amount".into(), (r.below(100_000) + 50).to_string()),
        ("currency".into(), r.pick(CURRENCIES).into()),
        ("description".into(), r.pick(TEXT).into()),
        ("customer".into(), format!("cus_{}", r.alnum(14))),
    ];
    if r.chance(50) {
        pairs.push(("metadata[order_id]".into(), format!("ord_{}", r.digits(6))));
        pairs.push(("metadata[note]".into(), r.pick(TEXT).into()));
    }
    if r.chance(40) {
        pairs.push(("shipping[name]".into(), name(r)));
        pairs.push(("shipping[address][line1]".into(), r.pick(STREETS).into()));
        pairs.push(("shipping[address][city]".into(), r.pick(CITIES).into()));
    }
    if r.chance(30) {
        pairs.push(("expand[]".into(), "customer".into()));
        pairs.push(("expand[]".into(), "balance_transaction".into()));
    }
    if r.chance(20) {
        pairs.push(("card[number]".into(), luhn_card(r)));
        pairs.push(("card[cvc]".into(), r.digits(3)));
    }
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&");
    let path = r
        .pick(&[
            "/v1/payment_intents",
            "/v1/charges",
            "/v1/invoices",
            "/v1/subscriptions",
        ])
        .to_string();
    row(
        id,
        "form",
        "POST",
        path,
        base_headers(r, Some("application/x-www-form-urlencoded")),
        body,
    )
}

fn query_request(r: &mut Rng, id: usize) -> Value {
    let mut q: Vec<(String, String)> = vec![("limit".into(), (r.below(100) + 1).to_string())];
    match r.below(5) {
        0 => q.push((
            "query".into(),
            format!(
                "email:'{}' AND metadata['order_id']:'ord_{}'",
                email(r),
                r.digits(6)
            ),
        )),
        1 => q.push(("q".into(), r.pick(TEXT).into())),
        2 => {
            q.push(("created[gte]".into(), format!("17{}", r.digits(8))));
            q.push(("created[lt]".into(), format!("17{}", r.digits(8))));
        }
        3 => q.push(("search".into(), name(r))),
        _ => q.push(("starting_after".into(), format!("ch_{}", r.alnum(24)))),
    }
    if r.chance(30) {
        q.push(("expand[]".into(), "data.customer".into()));
    }
    if r.chance(20) {
        q.push((
            "status".into(),
            r.pick(&["succeeded", "pending", "failed", "requires_action"])
                .into(),
        ));
    }
    if r.chance(10) {
        q.push(("sort".into(), "-created,amount".into()));
    }
    let path = r.pick(&[
        "/v1/charges",
        "/v1/customers/search",
        "/v1/payment_intents",
        "/v1/refunds",
        "/v1/events",
        "/v1/balance_transactions",
    ]);
    let target = format!(
        "{path}?{}",
        q.iter()
            .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
            .collect::<Vec<_>>()
            .join("&")
    );
    let mut h = base_headers(r, None);
    h.retain(|(n, _)| n != "Idempotency-Key");
    row(id, "query", "GET", target, h, String::new())
}

fn multipart_request(r: &mut Rng, id: usize) -> Value {
    let b = format!("----WebKitFormBoundary{}", r.alnum(16));
    let file = r.pick(&[
        "receipt.pdf",
        "O'Brien invoice (final).pdf",
        "evidence-2024-05-01.png",
        "delivery photo #2.jpg",
        "contract_v3.docx",
    ]);
    let ct = if file.ends_with(".pdf") {
        "application/pdf"
    } else if file.ends_with(".docx") {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    } else {
        "image/png"
    };
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\ndispute_evidence\r\n--{b}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n{}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file}\"\r\nContent-Type: {ct}\r\n\r\n%PDF-1.7 binary-ish {}\r\n--{b}--\r\n",
        r.pick(TEXT),
        r.alnum(64)
    );
    row(
        id,
        "multipart",
        "POST",
        "/v1/files".into(),
        base_headers(r, Some(&format!("multipart/form-data; boundary={b}"))),
        body,
    )
}

fn xml_request(r: &mut Rng, id: usize) -> Value {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\'', "&apos;")
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:p=\"urn:payments\"><soap:Body><p:Authorize><p:Amount currency=\"{}\">{}.{:02}</p:Amount><p:CardHolder>{}</p:CardHolder><p:Memo>{}</p:Memo><p:Reference>REF-{}</p:Reference></p:Authorize></soap:Body></soap:Envelope>",
        r.pick(CURRENCIES).to_uppercase(),
        r.below(2000),
        r.below(100),
        esc(&name(r)),
        esc(r.pick(TEXT)),
        r.digits(8)
    );
    let mut h = base_headers(r, Some("text/xml; charset=utf-8"));
    h.push(("SOAPAction".into(), "\"urn:payments#Authorize\"".into()));
    row(
        id,
        "xml",
        "POST",
        "/legacy/soap/PaymentService".into(),
        h,
        body,
    )
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "testdata/benign-payments.jsonl".into());
    let mut r = Rng(0x5EED_2026_1121_0001);
    let mut lines = String::new();
    for id in 1..=3000 {
        let v = match r.below(100) {
            0..=39 => json_request(&mut r, id),
            40..=59 => form_request(&mut r, id),
            60..=84 => query_request(&mut r, id),
            85..=92 => multipart_request(&mut r, id),
            _ => xml_request(&mut r, id),
        };
        lines.push_str(&v.to_string());
        lines.push('\n');
    }
    match std::fs::File::create(&out).and_then(|mut f| f.write_all(lines.as_bytes())) {
        Ok(()) => eprintln!("wrote 3000 rows to {out}"),
        Err(e) => {
            eprintln!("{out}: {e}");
            std::process::exit(1);
        }
    }
}
