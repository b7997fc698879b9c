// Runs one or more Kubernetes API doubles (test/double) until killed, writing a kubeconfig for each so
// the controller (or kubectl) can be pointed at them by hand:
//   tsx scripts/kube-double.ts --clusters 3 --dir /tmp/clusters
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { KubeDouble } from '../test/double/index.ts';

const program = new Command()
  .name('kube-double')
  .description('Start Kubernetes API server doubles on 127.0.0.1 and write a kubeconfig for each')
  .option('--clusters <n>', 'number of clusters', '1')
  .option('--dir <dir>', 'where to write <name>.kubeconfig files', '.tmp/kube-double')
  .option('--prefix <prefix>', 'cluster name prefix (names are <prefix>1..N)', 'cluster')
  .option('--base-port <port>', 'first port (consecutive ports); 0 picks free ports', '0')
  .option('--tls', 'serve HTTPS with the bundled self-signed certificate', false)
  .option('--history <events>', 'watch history retained, in events', '1000')
  .parse();

const o = program.opts<{ clusters: string; dir: string; prefix: string; basePort: string; tls: boolean; history: string }>();
const n = Number(o.clusters);
if (!Number.isInteger(n) || n < 1) {
  console.error('--clusters must be a positive integer');
  process.exit(2);
}
const dir = resolve(o.dir);
mkdirSync(dir, { recursive: true });
const base = Number(o.basePort);
const doubles: KubeDouble[] = [];
for (let i = 1; i <= n; i++) {
  const name = `${o.prefix}${i}`;
  const d = await KubeDouble.start({ name, port: base > 0 ? base + i - 1 : 0, tls: o.tls, historyLimit: Number(o.history) });
  doubles.push(d);
  const file = join(dir, `${name}.kubeconfig`);
  writeFileSync(file, d.kubeconfig());
  console.log(`# ${name}: ${d.url}  (${file})`);
  console.log(d.kubeconfig());
}
console.log(`# ${n} cluster(s) running; Ctrl-C to stop.`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void Promise.all(doubles.map((d) => d.close())).then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
