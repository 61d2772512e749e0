//! The KYT screening service: an HTTP API (axum) over the store, entities, tags and the tracing engine, with tenants, keys, audit log and risk policy.
