//! The demo payments API and the traffic simulator.
//!
//! [`upstream`] is a small but realistic payments API (login, charges with
//! card numbers and declines, accounts by id, products, orders) that
//! `palisade demo` puts behind the gateway. [`traffic`] drives scenarios
//! against any target: ordinary customers (and, with issue 4, card testers,
//! credential stuffers, enumerators and scanners), each simulated client
//! binding its own source address in 127.0.0.0/8 so the gateway sees real,
//! distinct peers. [`world`] is the deterministic population both share:
//! customers, their passwords, accounts and cards.

pub mod traffic;
pub mod upstream;
pub mod world;
