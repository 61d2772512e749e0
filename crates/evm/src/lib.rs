//! EVM chains: ingest over JSON-RPC, RLP blocks and ethereum-etl exports into an account-transfer store; account-model tracing.
