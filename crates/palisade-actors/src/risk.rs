//! The risk model: points that findings add, weighted by severity, confidence
//! and phase, decaying exponentially with a half-life. Risk is the decayed
//! points clamped to 0-100.

use palisade_core::{Finding, Phase, Severity};

use crate::config::PhaseWeights;

/// Risk points at a moment; the value at any later time is computed, never
/// stored, so decay needs no timer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Risk {
    points: f32,
    ts_ms: i64,
}

impl Risk {
    pub(crate) fn at(&self, now_ms: i64, half_life_ms: i64) -> f32 {
        let dt = (now_ms - self.ts_ms).max(0) as f64;
        let v = f64::from(self.points) * 0.5f64.powf(dt / half_life_ms.max(1) as f64);
        v.clamp(0.0, 100.0) as f32
    }
    pub(crate) fn add(&mut self, now_ms: i64, half_life_ms: i64, pts: f32) {
        let cur = self.at(now_ms, half_life_ms);
        self.points = (cur + pts).clamp(0.0, 100.0);
        self.ts_ms = now_ms.max(self.ts_ms);
    }
    pub(crate) fn score(&self, now_ms: i64, half_life_ms: i64) -> u8 {
        self.at(now_ms, half_life_ms).round() as u8
    }
    /// When the risk, decaying from now on, falls below `level`.
    pub(crate) fn below_at(&self, now_ms: i64, half_life_ms: i64, level: f32) -> i64 {
        let cur = self.at(now_ms, half_life_ms);
        if cur < level || level <= 0.0 {
            return now_ms;
        }
        let halvings = f64::from(cur / level).log2();
        now_ms + (halvings * half_life_ms as f64).ceil() as i64 + 1
    }
}

pub(crate) fn severity_points(s: Severity) -> f32 {
    match s {
        Severity::Info => 1.0,
        Severity::Low => 5.0,
        Severity::Medium => 12.0,
        Severity::High => 25.0,
        Severity::Critical => 40.0,
    }
}

pub(crate) fn phase_weight(w: &PhaseWeights, p: Phase) -> f32 {
    match p {
        Phase::Recon => w.recon,
        Phase::Probing => w.probing,
        Phase::Exploitation => w.exploitation,
        Phase::Abuse => w.abuse,
    }
}

/// The points one finding adds.
pub(crate) fn finding_points(f: &Finding, w: &PhaseWeights) -> f32 {
    let base = severity_points(f.severity).max(f.score.min(50) as f32);
    base * phase_weight(w, f.phase) * f32::from(f.confidence.min(100)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_by_half_life() {
        let mut r = Risk::default();
        r.add(0, 1000, 80.0);
        assert_eq!(r.score(0, 1000), 80);
        assert_eq!(r.score(1000, 1000), 40);
        assert_eq!(r.score(2000, 1000), 20);
        let t = r.below_at(0, 1000, 50.0);
        assert!(r.at(t, 1000) < 50.0 && r.at(t - 2, 1000) >= 49.9);
    }
}
