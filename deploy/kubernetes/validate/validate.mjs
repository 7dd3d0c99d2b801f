// Validates Kubernetes manifests against the schemas of their kinds: Kubernetes' own (kubernetes-models),
// Strimzi's, the Prometheus Operator's and KEDA's CRDs (@kubernetes-models/*, generated from them).
// Usage: node validate.mjs FILE.yaml...  (exit 1 with one line per invalid or unknown resource)
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const packages = {
  "kafka.strimzi.io": "@kubernetes-models/strimzi-kafka-operator",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "keda.sh": "@kubernetes-models/keda",
};

async function model(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const path = packages[group]
    ? `${packages[group]}/${group}/${version}/${kind}`
    : `kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`;
  const module = await import(path);
  return module[kind];
}

let failed = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const value = doc.toJS();
    if (!value) continue;
    const where = `${file}: ${value.kind} ${value.metadata?.name ?? "?"}`;
    try {
      const Kind = await model(value.apiVersion, value.kind);
      new Kind(value).validate();
      checked += 1;
    } catch (error) {
      failed += 1;
      console.log(`${where}: ${String(error.message ?? error).split("\n").slice(0, 6).join(" | ")}`);
    }
  }
}
console.log(`${checked} resources valid, ${failed} invalid`);
process.exit(failed ? 1 : 0);
