//! The simulated population, deterministic from an index: customer `i` has
//! a login, a password, an account id and a Luhn-valid card. The demo API
//! and the traffic generator derive the same facts independently.

/// Number of customers the demo API knows.
pub const CUSTOMERS: u32 = 500;

/// First account id; accounts are `ACCOUNT_BASE + i`.
pub const ACCOUNT_BASE: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub index: u32,
    pub username: String,
    pub password: String,
    pub account_id: u32,
    pub name: String,
    pub card: String,
}

const FIRST: &[&str] = &[
    "Aoife", "Liam", "Sofia", "Mateo", "Chloé", "Noah", "Amara", "Kenji", "Zoë", "Sean", "Priya",
    "Lars", "Fatima", "Diego", "Hannah", "Yusuf", "Mia", "Oliver", "Ines", "Tomás",
];
const LAST: &[&str] = &[
    "O'Brien",
    "Müller",
    "García",
    "D'Angelo",
    "Nguyen",
    "Smith-Jones",
    "Kowalski",
    "Okafor",
    "Select",
    "Union",
    "Drop",
    "Tanaka",
    "Haddad",
    "Rossi",
    "Johansson",
    "Dubois",
    "Script",
    "Alert",
    "McDonald",
    "Van der Berg",
];

/// Customer `i` (any `i`; the API knows `0..CUSTOMERS`).
pub fn customer(i: u32) -> Customer {
    Customer {
        index: i,
        username: format!("user{i}@example.com"),
        password: format!("correct-horse-{}-{}", i, (i * 7919) % 1000),
        account_id: ACCOUNT_BASE + i,
        name: format!(
            "{} {}",
            FIRST[(i as usize) % FIRST.len()],
            LAST[(i as usize / FIRST.len()) % LAST.len()]
        ),
        card: card_for(u64::from(i)),
    }
}

/// A Luhn-valid 16-digit card number from a seed (BINs of test ranges).
pub fn card_for(seed: u64) -> String {
    const BINS: &[&str] = &["424242", "555555", "400005", "222300", "601100"];
    let bin = BINS[(seed % BINS.len() as u64) as usize];
    let body = format!(
        "{bin}{:09}",
        (seed.wrapping_mul(2_654_435_761)) % 1_000_000_000
    );
    let check = luhn_check_digit(&body);
    format!("{body}{check}")
}

/// The digit that makes `partial` + digit Luhn-valid.
pub fn luhn_check_digit(partial: &str) -> u8 {
    let mut sum = 0u32;
    for (i, c) in partial.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    ((10 - sum % 10) % 10) as u8
}

/// Whether a card belongs to a known customer (the "bank" approves those).
pub fn card_owner(card: &str) -> Option<u32> {
    (0..CUSTOMERS).find(|i| card_for(u64::from(*i)) == card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_are_luhn_valid_and_owned() {
        for i in 0..50 {
            let c = customer(i);
            assert!(
                palisade_core::sensitive::luhn_valid(c.card.as_bytes()),
                "{}",
                c.card
            );
            assert_eq!(card_owner(&c.card), Some(i));
        }
        assert_eq!(card_owner("4111111111111111"), None);
    }
}
