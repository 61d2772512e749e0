//! Bitcoin networks: their blk-file magic, genesis block and address prefixes.

use std::fmt;
use std::str::FromStr;

use chainhound_types::Hash32;

use crate::error::BtcError;

/// A Bitcoin network. Decides the blk-file magic to expect and how addresses
/// are rendered.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Network {
    /// Mainnet (magic `f9beb4d9`).
    Main,
    /// Testnet3 (magic `0b110907`).
    Testnet,
    /// Testnet4, BIP94 (magic `1c163f28`).
    Testnet4,
    /// The default signet (magic `0a03cf40`).
    Signet,
    /// Regtest (magic `fabfb5da`).
    Regtest,
}

impl Network {
    /// Every network, in a fixed order.
    pub const ALL: [Network; 5] = [
        Network::Main,
        Network::Testnet,
        Network::Testnet4,
        Network::Signet,
        Network::Regtest,
    ];

    /// The four bytes that start every record of this network's blk files
    /// (Bitcoin Core's `pchMessageStart`).
    pub fn magic(self) -> [u8; 4] {
        match self {
            Network::Main => [0xf9, 0xbe, 0xb4, 0xd9],
            Network::Testnet => [0x0b, 0x11, 0x09, 0x07],
            Network::Testnet4 => [0x1c, 0x16, 0x3f, 0x28],
            Network::Signet => [0x0a, 0x03, 0xcf, 0x40],
            Network::Regtest => [0xfa, 0xbf, 0xb5, 0xda],
        }
    }

    /// The network whose magic is `magic`, if any.
    pub fn from_magic(magic: [u8; 4]) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.magic() == magic)
    }

    /// The lower-case name used in messages and accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Network::Main => "main",
            Network::Testnet => "testnet3",
            Network::Testnet4 => "testnet4",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
        }
    }

    /// Hash of the network's genesis block (internal byte order).
    pub fn genesis_hash(self) -> Hash32 {
        let block = bitcoin::constants::genesis_block(self.to_bitcoin());
        Hash32(bitcoin::hashes::Hash::to_byte_array(block.block_hash()))
    }

    /// The rust-bitcoin network, for address encoding. Testnet3, testnet4 and
    /// signet share the `tb`/`m`/`n`/`2` prefixes; regtest uses `bcrt`.
    pub fn to_bitcoin(self) -> bitcoin::Network {
        match self {
            Network::Main => bitcoin::Network::Bitcoin,
            Network::Testnet => bitcoin::Network::Testnet,
            Network::Testnet4 => bitcoin::Network::Testnet4,
            Network::Signet => bitcoin::Network::Signet,
            Network::Regtest => bitcoin::Network::Regtest,
        }
    }

    /// The highest target (easiest proof of work) the network allows, as
    /// compact bits.
    pub(crate) fn pow_limit_bits(self) -> u32 {
        match self {
            Network::Main | Network::Testnet | Network::Testnet4 => 0x1d00_ffff,
            Network::Signet => 0x1e03_77ae,
            Network::Regtest => 0x207f_ffff,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Network {
    type Err = BtcError;

    /// Accepts `main`/`mainnet`/`bitcoin`, `test`/`testnet`/`testnet3`,
    /// `testnet4`, `signet` and `regtest`, in any ASCII case.
    fn from_str(s: &str) -> Result<Network, BtcError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "main" | "mainnet" | "bitcoin" => Network::Main,
            "test" | "testnet" | "testnet3" => Network::Testnet,
            "testnet4" => Network::Testnet4,
            "signet" => Network::Signet,
            "regtest" => Network::Regtest,
            _ => {
                return Err(BtcError::UnknownNetwork {
                    input: s.to_string(),
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_round_trip_and_are_distinct() {
        for n in Network::ALL {
            assert_eq!(Network::from_magic(n.magic()), Some(n));
            assert_eq!(n.name().parse::<Network>().unwrap(), n);
        }
        assert_eq!(Network::from_magic([0; 4]), None);
        assert_eq!(Network::Main.magic(), [0xf9, 0xbe, 0xb4, 0xd9]);
    }

    #[test]
    fn parses_aliases() {
        for (s, n) in [
            ("main", Network::Main),
            ("mainnet", Network::Main),
            ("Bitcoin", Network::Main),
            ("test", Network::Testnet),
            ("testnet", Network::Testnet),
            ("testnet3", Network::Testnet),
            ("testnet4", Network::Testnet4),
            ("signet", Network::Signet),
            ("REGTEST", Network::Regtest),
        ] {
            assert_eq!(s.parse::<Network>().unwrap(), n, "{s}");
        }
        let e = "liquid".parse::<Network>().unwrap_err().to_string();
        assert!(e.contains("\"liquid\""), "{e}");
    }

    #[test]
    fn genesis_hashes() {
        for (n, h) in [
            (
                Network::Main,
                "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
            ),
            (
                Network::Testnet,
                "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
            ),
            (
                Network::Testnet4,
                "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
            ),
            (
                Network::Signet,
                "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
            ),
            (
                Network::Regtest,
                "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
            ),
        ] {
            assert_eq!(n.genesis_hash().to_display_hex(), h, "{n}");
        }
    }
}
