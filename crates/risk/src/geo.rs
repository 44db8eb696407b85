//! Where addresses are: a small trait over the GeoIP database, and great-circle distance.

use std::net::IpAddr;

/// Where an address is.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    /// Latitude and longitude in degrees.
    pub coordinates: Option<(f64, f64)>,
    /// How far from the coordinates the address may be, in kilometres.
    pub accuracy_km: Option<f64>,
}

/// Looks addresses up.
pub trait Locator: Send + Sync {
    /// The place of an address, if known.
    fn locate(&self, ip: IpAddr) -> Option<Place>;
}

impl Locator for trustplane_access::MaxMindCountryLookup {
    fn locate(&self, ip: IpAddr) -> Option<Place> {
        self.point(ip).map(|p| Place {
            country: p.country,
            coordinates: p.coordinates,
            accuracy_km: p.accuracy_km,
        })
    }
}

/// Great-circle distance in kilometres (haversine, mean Earth radius).
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().clamp(0.0, 1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn london_to_new_york_is_about_5570_km() {
        let d = distance_km(51.5074, -0.1278, 40.7128, -74.0060);
        assert!((d - 5570.0).abs() < 20.0, "{d}");
        assert!(distance_km(10.0, 10.0, 10.0, 10.0).abs() < 1e-9);
    }
}
