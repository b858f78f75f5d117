//! The one place a request's client address is decided. It is the TCP peer, unless the peer
//! is a reverse proxy listed in `SRM_TRUSTED_PROXIES`: then the nearest address in
//! `X-Forwarded-For` that is not itself a trusted proxy (else `X-Real-IP`). Anyone else's
//! headers are ignored, so a forged header cannot reset a per-address limit or put a false
//! address in the audit log.

use ipnet::IpNet;
use rocket::Request;
use std::net::IpAddr;

/// The parsed `SRM_TRUSTED_PROXIES`: addresses and CIDR blocks.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list; an entry that is neither an address nor a block is an
    /// error naming it, so a typo stops the start instead of trusting nobody silently.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => item.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
                    format!("SRM_TRUSTED_PROXIES: '{item}' is not an IP address or CIDR block")
                })?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request that arrived from `peer` with these headers.
    pub fn client(
        &self,
        peer: IpAddr,
        forwarded_for: Option<&str>,
        real_ip: Option<&str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        // Walk X-Forwarded-For from the right: each hop appended the address it saw.
        if let Some(chain) = forwarded_for {
            let mut last_trusted = None;
            for hop in chain.rsplit(',').map(str::trim) {
                match hop.parse::<IpAddr>() {
                    Ok(ip) if self.contains(ip) => last_trusted = Some(canonical(ip)),
                    Ok(ip) => return canonical(ip),
                    Err(_) => break,
                }
            }
            if let Some(ip) = last_trusted {
                return ip;
            }
        }
        real_ip
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
            .map(canonical)
            .unwrap_or(peer)
    }
}

/// An IPv4 address mapped into IPv6 is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address of `req`, by the rule above; `None` without a peer (local tests).
pub fn client_ip(req: &Request<'_>) -> Option<String> {
    let peer = req.remote()?.ip();
    let trusted = req.rocket().state::<TrustedProxies>();
    let ip = match trusted {
        Some(t) => t.client(
            peer,
            req.headers().get_one("X-Forwarded-For"),
            req.headers().get_one("X-Real-IP"),
        ),
        None => canonical(peer),
    };
    Some(ip.to_string())
}

/// The caller's address as a request guard, for throttling and the audit log.
pub struct ClientIp(pub String);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for ClientIp {
    type Error = std::convert::Infallible;
    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::request::Outcome::Success(ClientIp(
            client_ip(req).unwrap_or_else(|| "unknown".into()),
        ))
    }
}
