/*
   ChainHound's own crypto-jacking rules (Apache-2.0, like the project).

   Monero addresses: standard and subaddresses are 95 base58 characters
   starting 4 or 8 and then 0-9, A or B; integrated addresses are 106
   starting 4.

   Strings whose identifier starts with `$wallet` mark a payout wallet:
   `chainhound scan files` reads the matched bytes, infers the chain from the
   address format and, with --tag, stores it as a tag of category `miner`.
*/

rule ChainHound_Stratum_Pool_URL {
   meta:
      description = "Mining-pool URL with a Stratum scheme (miner configuration or dropper)"
      author = "ChainHound"
   strings:
      $s1 = "stratum+tcp://" nocase ascii wide
      $s2 = "stratum+ssl://" nocase ascii wide
      $s3 = "stratum+tls://" nocase ascii wide
      $s4 = "stratum2+tcp://" nocase ascii wide
   condition:
      any of them
}

rule ChainHound_Stratum_Protocol_Client {
   meta:
      description = "Program speaking Stratum v1 or the XMRig login protocol (mining client)"
      author = "ChainHound"
   strings:
      $m1 = "mining.subscribe" ascii wide
      $m2 = "mining.authorize" ascii wide
      $m3 = "mining.notify" ascii wide
      $m4 = "mining.submit" ascii wide
      $m5 = "mining.set_difficulty" ascii wide
      $x1 = "\"method\":\"login\"" ascii
      $x2 = "\"method\":\"submit\"" ascii
      $x3 = "\"method\":\"keepalived\"" ascii
   condition:
      3 of ($m*) or 2 of ($x*)
}

rule ChainHound_XMRig_Config_Wallet {
   meta:
      description = "XMRig-style miner configuration naming a pool and a payout wallet"
      author = "ChainHound"
   strings:
      $pools = "\"pools\"" ascii
      $url = "\"url\"" ascii
      $user = "\"user\"" ascii
      $wallet_xmr = /"user"\s{0,4}:\s{0,4}"(4[1-9A-HJ-NP-Za-km-z]{105}|[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93})/ ascii
      $wallet_evm = /"user"\s{0,4}:\s{0,4}"0x[0-9a-fA-F]{40}/ ascii
   condition:
      filesize < 1MB and $pools and $url and $user and any of ($wallet*)
}

rule ChainHound_Miner_Command_Line {
   meta:
      description = "Command line or script starting a CPU miner against a pool"
      author = "ChainHound"
   strings:
      $o1 = /-o\s+(stratum\+(tcp|ssl|tls):\/\/)?[a-z0-9.-]{4,64}:[0-9]{2,5}/ nocase ascii
      $o2 = /--url[= ](stratum\+(tcp|ssl|tls):\/\/)?[a-z0-9.-]{4,64}:[0-9]{2,5}/ nocase ascii
      $f1 = "--donate-level" ascii wide
      $f2 = "--cpu-max-threads-hint" ascii wide
      $f3 = "--randomx-1gb-pages" ascii wide
      $f4 = "--coin=monero" nocase ascii wide
      $f5 = "--algo=rx/0" ascii wide
      $f6 = "--nicehash" ascii wide
      $wallet_xmr = /-u (4[1-9A-HJ-NP-Za-km-z]{105}|[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93})/ ascii
   condition:
      filesize < 5MB and (1 of ($o*)) and (1 of ($f*) or $wallet_xmr)
}

rule ChainHound_Browser_Miner_Script {
   meta:
      description = "Web page or script loading a browser (JavaScript/WebAssembly) miner"
      author = "ChainHound"
   strings:
      $c1 = "CoinHive.Anonymous" ascii wide
      $c2 = "CoinHive.User" ascii wide
      $c3 = "coinhive.min.js" nocase ascii wide
      $c4 = "authedmine.min.js" nocase ascii wide
      $c5 = "CRLT.Anonymous" ascii wide
      $c6 = "deepMiner.Anonymous" ascii wide
      $c7 = "cryptonight.wasm" nocase ascii wide
      $c8 = "new Client.Anonymous(" ascii wide
   condition:
      any of them
}
