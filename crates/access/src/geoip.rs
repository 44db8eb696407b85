//! Country lookup from a MaxMind database file (GeoLite2 / GeoIP2 Country or City).

use std::net::IpAddr;
use std::path::Path;

use crate::error::Error;
use crate::location::CountryLookup;

/// A [`CountryLookup`] backed by a MaxMind DB file read into memory.
pub struct MaxMindCountryLookup {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for MaxMindCountryLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaxMindCountryLookup")
            .finish_non_exhaustive()
    }
}

impl MaxMindCountryLookup {
    /// Opens a `.mmdb` file.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let reader =
            maxminddb::Reader::open_readfile(path).map_err(|e| Error::CountryDatabase {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
        Ok(Self { reader })
    }
}

/// Where an address is, as precisely as the database says (a City database has coordinates;
/// a Country database only the country).
#[derive(Debug, Clone, PartialEq)]
pub struct GeoPoint {
    /// ISO 3166-1 alpha-2 country, upper case.
    pub country: Option<String>,
    /// Latitude and longitude in degrees, when the database has them.
    pub coordinates: Option<(f64, f64)>,
    /// The radius around the coordinates the address is likely within, in kilometres.
    pub accuracy_km: Option<f64>,
}

impl MaxMindCountryLookup {
    /// The country and, from a City database, the coordinates of an address.
    pub fn point(&self, ip: IpAddr) -> Option<GeoPoint> {
        let result = self.reader.lookup(ip).ok()?;
        // One lookup for everything: the country where the address is used, else where it
        // is registered.
        let country = ["country", "registered_country"].iter().find_map(|field| {
            let path = [
                maxminddb::PathElement::Key(field),
                maxminddb::PathElement::Key("iso_code"),
            ];
            result
                .decode_path::<String>(&path)
                .ok()
                .flatten()
                .map(|c| c.to_ascii_uppercase())
        });
        let get = |a: &'static str, b: &'static str| -> Option<f64> {
            let path = [
                maxminddb::PathElement::Key(a),
                maxminddb::PathElement::Key(b),
            ];
            result.decode_path::<f64>(&path).ok().flatten()
        };
        let coordinates = match (get("location", "latitude"), get("location", "longitude")) {
            (Some(lat), Some(lon)) if lat.is_finite() && lon.is_finite() => Some((lat, lon)),
            _ => None,
        };
        let accuracy_km = {
            let path = [
                maxminddb::PathElement::Key("location"),
                maxminddb::PathElement::Key("accuracy_radius"),
            ];
            result
                .decode_path::<u32>(&path)
                .ok()
                .flatten()
                .map(f64::from)
        };
        if country.is_none() && coordinates.is_none() {
            return None;
        }
        Some(GeoPoint {
            country,
            coordinates,
            accuracy_km,
        })
    }
}

impl CountryLookup for MaxMindCountryLookup {
    fn country(&self, ip: IpAddr) -> Option<String> {
        let result = self.reader.lookup(ip).ok()?;
        // The country where the address is used; else where it is registered.
        for field in ["country", "registered_country"] {
            let path = [
                maxminddb::PathElement::Key(field),
                maxminddb::PathElement::Key("iso_code"),
            ];
            if let Ok(Some(code)) = result.decode_path::<String>(&path) {
                return Some(code.to_ascii_uppercase());
            }
        }
        None
    }
}
