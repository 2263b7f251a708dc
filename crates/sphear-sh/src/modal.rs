//! Rigid/open sphere modal model (placeholder, being written).

/// Kind of sphere the capsules sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SphereKind {
    /// Capsules flush-mounted on a rigid (acoustically hard) sphere, e.g. the em32.
    Rigid,
    /// Capsules in free field on an acoustically transparent sphere.
    Open,
}
