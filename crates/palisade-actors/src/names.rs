//! Memorable actor and campaign names (`amber-falcon`), deterministic from the
//! id: the same actor has the same name on every node and after a restart.
//! A name is a label for people, not an identifier: two actors may share one;
//! the id is what the API takes.

use crate::keys::mix;

const ADJECTIVES: &[&str] = &[
    "amber", "ashen", "azure", "bold", "brassy", "brisk", "bronze", "calm", "cedar", "chalky",
    "clever", "cobalt", "coral", "crimson", "dapper", "dusky", "eager", "ebony", "elder", "fabled",
    "feral", "fierce", "flinty", "frosty", "gentle", "gilded", "glassy", "golden", "grim", "hasty",
    "hazel", "hollow", "icy", "indigo", "ivory", "jade", "jolly", "keen", "lapis", "lively",
    "lucky", "lunar", "mellow", "misty", "mossy", "nimble", "noble", "ochre", "olive", "opal",
    "pale", "plucky", "quiet", "rapid", "rusty", "sable", "scarlet", "silent", "silver", "sly",
    "smoky", "snowy", "solar", "stormy", "sunny", "swift", "tawny", "tidal", "umber", "velvet",
    "vivid", "wary", "wild", "windy", "wintry", "wise", "witty", "zesty",
];

const NOUNS: &[&str] = &[
    "adder", "badger", "bat", "bear", "beetle", "bison", "boar", "bobcat", "buzzard", "camel",
    "caribou", "cobra", "condor", "cougar", "coyote", "crane", "crow", "dingo", "dove", "eagle",
    "egret", "elk", "falcon", "ferret", "finch", "fox", "gecko", "gibbon", "goose", "gull", "hare",
    "hawk", "heron", "hornet", "ibis", "iguana", "jackal", "jaguar", "kestrel", "koala", "lemur",
    "leopard", "lynx", "magpie", "marmot", "marten", "mink", "moose", "newt", "ocelot", "orca",
    "osprey", "otter", "owl", "panther", "pelican", "puma", "python", "quail", "raven", "shrike",
    "stoat", "swift", "tapir", "tiger", "toad", "viper", "vole", "walrus", "weasel", "wolf",
    "wombat", "wren", "yak", "zebra",
];

/// The name for a 64-bit id.
pub fn name_for(id: u64) -> String {
    let h = mix(id ^ 0x5bd1_e995_1234_5678);
    let adj = ADJECTIVES[(h % ADJECTIVES.len() as u64) as usize];
    let noun = NOUNS[((h >> 32) % NOUNS.len() as u64) as usize];
    format!("{adj}-{noun}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_and_varied() {
        assert_eq!(name_for(42), name_for(42));
        let distinct: std::collections::HashSet<String> = (0..500u64).map(name_for).collect();
        assert!(distinct.len() > 400, "{}", distinct.len());
        assert!(name_for(7).contains('-'));
    }
}
