//! Network reachability: which ports of which assets the internet can
//! reach, and through what. Inputs are the AWS CLI's JSON ([`AwsData`]),
//! rules files for other networks ([`RulesFile`]) and each asset's listening
//! sockets ([`Asset`]); the output, per asset, protocol and port range, is a
//! [`Verdict`] (reachable with the paths, not reachable with why, or unknown
//! naming the missing data) and the [`Service`] listening there. The model
//! and its rules are in `docs/reachability.md`.

pub mod aws;
mod error;
mod eval;
pub mod net;
pub mod rules;

pub use aws::AwsData;
pub use error::Error;
pub use eval::{
    Asset, AssetReachability, Exposure, Hop, Listener, Missing, Network, Path, PortReachability,
    Service, Verdict,
};
pub use net::{Cidr, Family, PortRange, Protocol};
pub use rules::RulesFile;
