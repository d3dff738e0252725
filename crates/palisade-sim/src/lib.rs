//! The demo payments API and the traffic simulator.
//!
//! [`upstream`] is a small but realistic payments API (login, charges with
//! card numbers and declines, accounts by id, products, orders) that
//! `palisade demo` puts behind the gateway. [`traffic`] drives scenarios
//! against any target: ordinary customers and the attack campaigns of
//! [`attacks`] (card testers, credential stuffers, an enumerating scraper and
//! a scanner), each simulated client
//! binding its own source address in 127.0.0.0/8 so the gateway sees real,
//! distinct peers. [`world`] is the deterministic population both share:
//! customers, their passwords, accounts and cards.

pub mod attacks;
pub mod traffic;
pub mod upstream;
pub mod world;
