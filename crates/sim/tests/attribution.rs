//! `attribution.csv`: a small, correct subset of the exchanges' addresses,
//! in the tag CSV format, labelled with each exchange's name and country.

use std::collections::{BTreeMap, HashMap};

use chainhound_sim::truth::{read_addresses, EntityKind, Truth};
use chainhound_sim::{simulate, SimConfig, ATTRIBUTION_FILE};

#[test]
fn attribution_is_a_true_subset_of_exchange_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let s = simulate(&SimConfig::new(5_000, 3), tmp.path(), &mut |_| {}).unwrap();
    assert_eq!(s.attribution_path, tmp.path().join(ATTRIBUTION_FILE));
    let truth = Truth::load(tmp.path()).unwrap();
    let owner: HashMap<String, u32> = read_addresses(tmp.path()).unwrap().into_iter().collect();
    let text = std::fs::read_to_string(&s.attribution_path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "address,label,category,actor,country,source,confidence"
    );
    let mut per: BTreeMap<u32, usize> = BTreeMap::new();
    let mut rows = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 7, "{line}");
        let e = owner[f[0]];
        let ent = &truth.entities[e as usize];
        assert_eq!(ent.kind, EntityKind::Exchange, "{line}");
        assert!(f[1].starts_with(&ent.name), "{line}");
        assert_eq!(f[2], "exchange");
        assert_eq!(f[3], ent.name);
        assert_eq!(Some(f[4]), ent.country.as_deref());
        *per.entry(e).or_default() += 1;
        rows += 1;
    }
    assert_eq!(rows, s.attribution_rows);
    let exchanges = truth
        .entities
        .iter()
        .filter(|e| e.kind == EntityKind::Exchange)
        .count();
    assert_eq!(per.len(), exchanges, "every exchange has known addresses");
    for (e, n) in per {
        // a few addresses each, far from all of them
        assert!((1..=8).contains(&n), "exchange {e}: {n} rows");
        assert!((n as u64) < truth.entities[e as usize].address_count);
    }
}
