//! Crypto-jacking detection: YARA rules over files, Stratum/XMRig/mining-pool traffic in pcap, pcapng and Zeek logs, payout wallets as tags.
