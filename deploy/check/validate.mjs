// deploy/check/validate.mjs - validates Kubernetes manifests against the API
// schemas of a current release (the npm package kubernetes-models, which
// carries the OpenAPI schemas of Kubernetes and of the Gateway API), since
// kubectl cannot validate without an API server.
//
//   node validate.mjs FILE.yaml...   (NODE_PATH-free: run from a folder whose
//                                     node_modules has kubernetes-models,
//                                     @kubernetes-models/gateway-api, js-yaml)
// Prints one line per object; exits 1 when any object is invalid or of a kind
// it cannot check (an unknown kind is an error, not a pass).
import { readFileSync } from "node:fs";
import * as yaml from "js-yaml";

function modulePath(apiVersion) {
	const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
	if (group.endsWith("gateway.networking.k8s.io") || group === "gateway.networking.x-k8s.io")
		return `@kubernetes-models/gateway-api/${group}/${version}`;
	return group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
}

let bad = 0;
for (const file of process.argv.slice(2)) {
	const docs = yaml.loadAll(readFileSync(file, "utf8")).filter((d) => d);
	for (const doc of docs) {
		const what = `${file}: ${doc.apiVersion} ${doc.kind} ${doc.metadata?.name ?? "?"}`;
		let Kind;
		try {
			const mod = await import(modulePath(doc.apiVersion ?? ""));
			Kind = mod[doc.kind];
		} catch (e) {
			Kind = undefined;
		}
		if (typeof Kind !== "function") {
			console.log(`INVALID ${what}: no schema for this apiVersion/kind`);
			bad++;
			continue;
		}
		try {
			new Kind(doc).validate();
			console.log(`ok ${what}`);
		} catch (e) {
			console.log(`INVALID ${what}: ${e.message.split("\n").slice(0, 6).join(" | ")}`);
			bad++;
		}
	}
}
process.exit(bad ? 1 : 0);
