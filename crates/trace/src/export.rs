//! Writers for a [`TraceReport`]: the destinations as CSV, and the flow
//! graph (transactions, endpoints and fees as nodes; traced satoshis as
//! edge weights) as GraphML and GEXF 1.3 for Gephi, yEd, Cytoscape or
//! networkx. Every text value is escaped; the XML is well-formed.

use std::collections::BTreeSet;
use std::io::Write;

use crate::engine::Engine;
use crate::error::{Result, TraceError};
use crate::types::{FlowNode, TraceReport};

fn io(format: &'static str) -> impl Fn(std::io::Error) -> TraceError {
    move |source| TraceError::Export { format, source }
}

/// One CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// XML text and attribute escaping.
fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// The destinations, one row each:
/// `entity,name,categories,countries,reason,amount_sat,share,outputs,min_hops,max_hops,first_time,last_time,path`
/// (categories and countries joined by `;`, the path as `txid:vout` hops
/// joined by ` > `).
pub fn write_csv(report: &TraceReport, w: &mut dyn Write) -> Result<()> {
    let e = io("csv");
    writeln!(
        w,
        "entity,name,categories,countries,reason,amount_sat,share,outputs,min_hops,max_hops,first_time,last_time,path"
    )
    .map_err(&e)?;
    for d in &report.destinations {
        let path: Vec<String> = d
            .path
            .iter()
            .map(|h| format!("{}:{}", h.txid, h.index))
            .collect();
        writeln!(
            w,
            "e{},{},{},{},{},{},{:.9},{},{},{},{},{},{}",
            d.entity.entity.0,
            csv_field(d.entity.name.as_deref().unwrap_or("")),
            csv_field(&d.entity.categories.join(";")),
            csv_field(&d.entity.countries.join(";")),
            d.reason.name(),
            d.amount,
            d.share,
            d.outputs,
            d.min_hops,
            d.max_hops,
            d.first_time,
            d.last_time,
            csv_field(&path.join(" > "))
        )
        .map_err(&e)?;
    }
    Ok(())
}

struct Node {
    id: String,
    label: String,
    kind: &'static str,
    category: String,
    country: String,
}

fn nodes(engine: &Engine, report: &TraceReport) -> Vec<Node> {
    let mut set: BTreeSet<FlowNode> = BTreeSet::new();
    for f in report.flows.iter() {
        set.insert(f.from);
        set.insert(f.to);
    }
    set.into_iter()
        .map(|n| match n {
            FlowNode::Tx(t) => Node {
                id: node_id(&n),
                label: engine.store().tx(t).txid.to_string(),
                kind: "tx",
                category: String::new(),
                country: String::new(),
            },
            FlowNode::End(ent, reason) => {
                let info = engine.entity_info(ent);
                let name = info.name.clone().unwrap_or_else(|| format!("e{}", ent.0));
                Node {
                    id: node_id(&n),
                    label: format!("{name} ({})", reason.name()),
                    kind: "endpoint",
                    category: info.categories.join(";"),
                    country: info.countries.join(";"),
                }
            }
            FlowNode::Fees => Node {
                id: node_id(&n),
                label: "fees".into(),
                kind: "fees",
                category: String::new(),
                country: String::new(),
            },
        })
        .collect()
}

fn node_id(n: &FlowNode) -> String {
    match n {
        FlowNode::Tx(t) => format!("t{}", t.0),
        FlowNode::End(e, r) => format!("e{}-{}", e.0, r.name()),
        FlowNode::Fees => "fees".into(),
    }
}

/// The flow graph as GraphML (directed; node keys `label`, `kind`,
/// `category`, `country`; edge key `amount_sat`).
pub fn write_graphml(engine: &Engine, report: &TraceReport, w: &mut dyn Write) -> Result<()> {
    let e = io("graphml");
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n");
    for (id, for_, ty) in [
        ("label", "node", "string"),
        ("kind", "node", "string"),
        ("category", "node", "string"),
        ("country", "node", "string"),
        ("amount_sat", "edge", "long"),
    ] {
        s.push_str(&format!(
            "  <key id=\"{id}\" for=\"{for_}\" attr.name=\"{id}\" attr.type=\"{ty}\"/>\n"
        ));
    }
    s.push_str(&format!(
        "  <graph id=\"trace-{}\" edgedefault=\"directed\">\n",
        report.request.model.name()
    ));
    for n in nodes(engine, report) {
        s.push_str(&format!(
            "    <node id=\"{}\"><data key=\"label\">{}</data><data key=\"kind\">{}</data><data key=\"category\">{}</data><data key=\"country\">{}</data></node>\n",
            xml(&n.id), xml(&n.label), n.kind, xml(&n.category), xml(&n.country)
        ));
    }
    for (i, f) in report.flows.iter().enumerate() {
        s.push_str(&format!(
            "    <edge id=\"f{i}\" source=\"{}\" target=\"{}\"><data key=\"amount_sat\">{}</data></edge>\n",
            xml(&node_id(&f.from)),
            xml(&node_id(&f.to)),
            f.amount
        ));
    }
    s.push_str("  </graph>\n</graphml>\n");
    w.write_all(s.as_bytes()).map_err(&e)
}

/// The flow graph as GEXF 1.3 (directed, static; node attributes `kind`,
/// `category`, `country`; edge weight = satoshis).
pub fn write_gexf(engine: &Engine, report: &TraceReport, w: &mut dyn Write) -> Result<()> {
    let e = io("gexf");
    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str("<gexf xmlns=\"http://gexf.net/1.3\" version=\"1.3\">\n");
    s.push_str(&format!(
        "  <meta><creator>chainhound</creator><description>{} {} trace</description></meta>\n",
        report.request.model.name(),
        match report.request.direction {
            crate::Direction::Forward => "forward",
            crate::Direction::Backward => "backward",
        }
    ));
    s.push_str("  <graph defaultedgetype=\"directed\" mode=\"static\">\n");
    s.push_str("    <attributes class=\"node\">\n");
    s.push_str("      <attribute id=\"0\" title=\"kind\" type=\"string\"/>\n");
    s.push_str("      <attribute id=\"1\" title=\"category\" type=\"string\"/>\n");
    s.push_str("      <attribute id=\"2\" title=\"country\" type=\"string\"/>\n");
    s.push_str("    </attributes>\n    <nodes>\n");
    for n in nodes(engine, report) {
        s.push_str(&format!(
            "      <node id=\"{}\" label=\"{}\"><attvalues><attvalue for=\"0\" value=\"{}\"/><attvalue for=\"1\" value=\"{}\"/><attvalue for=\"2\" value=\"{}\"/></attvalues></node>\n",
            xml(&n.id), xml(&n.label), n.kind, xml(&n.category), xml(&n.country)
        ));
    }
    s.push_str("    </nodes>\n    <edges>\n");
    for (i, f) in report.flows.iter().enumerate() {
        s.push_str(&format!(
            "      <edge id=\"{i}\" source=\"{}\" target=\"{}\" weight=\"{}\"/>\n",
            xml(&node_id(&f.from)),
            xml(&node_id(&f.to)),
            f.amount
        ));
    }
    s.push_str("    </edges>\n  </graph>\n</gexf>\n");
    w.write_all(s.as_bytes()).map_err(&e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(xml("<a & 'b'>\u{1}"), "&lt;a &amp; &apos;b&apos;&gt; ");
    }
}
