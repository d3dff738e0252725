//! Alert delivery (work in progress).
