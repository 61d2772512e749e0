// Compiles contracts/*.sol with solc-js (from npm, no download) and writes
// each contract's creation bytecode as contracts/<Name>.bin (hex). The .bin
// files are committed; `npm run compile` reproduces them byte for byte and
// chainhound-evm's node test checks that when solc is installed.
import fs from "node:fs";
import path from "node:path";
import solc from "solc";

const dir = path.join(path.dirname(new URL(import.meta.url).pathname), "contracts");
const sources = {};
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[f] = { content: fs.readFileSync(path.join(dir, f), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "cancun",
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["evm.bytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const check = process.argv.includes("--check");
let differ = 0;
for (const [file, contracts] of Object.entries(out.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    const target = path.join(dir, `${name}.bin`);
    const hex = c.evm.bytecode.object + "\n";
    if (check) {
      if (!fs.existsSync(target) || fs.readFileSync(target, "utf8") !== hex) {
        console.error(`${target} differs from a fresh compile of ${file}`);
        differ++;
      }
    } else {
      fs.writeFileSync(target, hex);
      console.log(`${name}: ${(hex.length - 1) / 2} bytes (solc ${solc.version()})`);
    }
  }
}
process.exit(differ ? 1 : 0);
