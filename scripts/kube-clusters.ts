// Runs N real Kubernetes control planes (embedded etcd + kube-apiserver of the pinned release, TLS, RBAC,
// a service-account signing key; see test/support/real-cluster.ts) on 127.0.0.1 until Ctrl-C, writing an
// admin kubeconfig for each:
//   npx tsx scripts/kube-clusters.ts --clusters 3 --dir .tmp/kube
// Needs the binary: `node scripts/build-go-tools.mjs kube-cluster` (npm test builds it too). The servers
// exit with this script, however it ends.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { startRealClusters } from '../test/support/real-cluster.ts';

const program = new Command()
  .name('kube-clusters')
  .description('Start real Kubernetes API servers on 127.0.0.1 and write an admin kubeconfig for each')
  .option('--clusters <n>', 'number of clusters', '1')
  .option('--dir <dir>', 'where to write <name>.kubeconfig files', '.tmp/kube')
  .option('--prefix <prefix>', 'cluster name prefix (names are <prefix>1..N)', 'cluster')
  .parse();

const o = program.opts<{ clusters: string; dir: string; prefix: string }>();
const n = Number(o.clusters);
if (!Number.isInteger(n) || n < 1 || n > 16) {
  console.error('--clusters must be an integer from 1 to 16');
  process.exit(2);
}
const dir = resolve(o.dir);
mkdirSync(dir, { recursive: true });
const started = Date.now();
let clusters;
try {
  clusters = await startRealClusters(Array.from({ length: n }, (_, i) => `${o.prefix}${i + 1}`));
} catch (e) {
  console.error(`kube-clusters: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
for (const c of clusters) {
  const file = join(dir, `${c.name}.kubeconfig`);
  writeFileSync(file, c.kubeconfig(), { mode: 0o600 });
  console.log(`# ${c.name}: ${c.server}  (${file})`);
}
console.log(`# ${n} cluster(s) ready in ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C to stop.`);
const stop = async (): Promise<void> => {
  await Promise.all(clusters.map((c) => c.close()));
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
