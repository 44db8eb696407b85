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
