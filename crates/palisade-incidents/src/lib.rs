//! Incidents (work in progress).
