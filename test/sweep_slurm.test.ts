/**
 * The sweep on a real Slurm scheduler: a single-node cluster started from Debian's packages
 * (`apt-get install -y slurm-wlm munge`; .ci/run installs them) inside a temporary folder, with
 * nothing installed system-wide and nothing left behind:
 *
 *   munged      its own key (mungekey) and socket in the folder, in the foreground
 *   slurmctld   -D, and slurmd -D, from a minimal slurm.conf for this host on 127.0.0.1 with free
 *               ports; plugins that need neither systemd nor cgroups (proctrack/linuxproc,
 *               task/none, jobacct_gather/none, no accounting), so it runs inside a container
 *   sbatch --wait --array=0-1 --cpus-per-task=1   a 2-task job array of the tiny grid, each task
 *               running `advlm sweep` with no --shard (it reads SLURM_ARRAY_TASK_ID/COUNT) into
 *               its own folder
 *
 * then `--merge` of the two folders, whose summary must equal a single-process run's. Every
 * daemon is stopped at the end (scontrol shutdown, then the processes this test started, by pid).
 *
 * Without the packages the test is skipped, except in CI (CI=true), where it fails and says what
 * to install. Checked here (Debian 12, Slurm 22.05.8, munge 0.5.15, in a gVisor container as root):
 * every step runs for real.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { test } from 'node:test';
import { backend } from './helpers';
import { expandGrid, readGrid, readRecords, runSweep, writeSummary, writeTinySweep, mergeSweeps } from '../src/sweep';
import { projectRoot } from '../src/paths';

const TOOLS = ['munged', 'munge', 'slurmctld', 'slurmd', 'sbatch', 'sinfo', 'scontrol', 'scancel'];
const INSTALL = 'apt-get install -y slurm-wlm munge';

function which(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    const f = path.join(dir, tool);
    if (fs.existsSync(f)) return f;
  }
  return undefined;
}

const missing = TOOLS.filter((t) => !which(t));
const skip = missing.length > 0 && process.env.CI !== 'true' ? `Slurm/munge not installed (${missing.join(', ')}): ${INSTALL}` : false;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs: number, diagnose: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what} within ${timeoutMs / 1000} s.\n${diagnose()}`);
    await sleep(250);
  }
}

const tail = (file: string, n = 25) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n') : '(no file)');

test('a 2-task Slurm job array of the tiny grid, merged, summarises exactly as a single-process run', { skip, timeout: 900_000 }, async () => {
  assert.deepEqual(missing, [], `Slurm and munge are needed for this test and missing here (${missing.join(', ')}): install them with '${INSTALL}' (.ci/run does)`);
  await backend();
  const T = fs.mkdtempSync(path.join(os.tmpdir(), 'advlm-slurm-')); // short: munge's socket path must fit 108 bytes
  const started: ChildProcess[] = [];
  const env = { ...process.env, SLURM_CONF: path.join(T, 'slurm.conf') };
  const logs = path.join(T, 'log');
  const run = (cmd: string, args: string[], timeout = 60_000) => spawnSync(cmd, args, { env, encoding: 'utf8', timeout });
  const daemon = (cmd: string, args: string[], log: string) => {
    const out = fs.openSync(path.join(logs, log), 'a');
    const child = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    started.push(child);
    return child;
  };
  const diagnose = () =>
    ['munged.log', 'munged.out', 'slurmctld.log', 'slurmctld.out', 'slurmd.log', 'slurmd.out'].map((f) => `--- ${f}\n${tail(path.join(logs, f))}`).join('\n') +
    `\nIf Slurm cannot run on this machine: it needs the packages (${INSTALL}), loopback TCP ports, and root or a user that may run slurmd; see the logs above.`;
  let jobId: string | undefined;
  try {
    for (const d of ['munge', 'log', 'spool/ctld', 'spool/d', 'shards', 'work']) fs.mkdirSync(path.join(T, d), { recursive: true });
    fs.chmodSync(path.join(T, 'munge'), 0o700);
    // munge: its own key and socket
    const key = path.join(T, 'munge', 'munge.key');
    const mk = run('mungekey', ['--create', `--keyfile=${key}`]);
    if (mk.status !== 0) fs.writeFileSync(key, Buffer.from(Array.from({ length: 1024 }, () => Math.floor(Math.random() * 256))));
    fs.chmodSync(key, 0o600);
    const socket = path.join(T, 'munge', 'munge.socket');
    daemon('munged', ['--foreground', '--force', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${path.join(T, 'munge', 'munged.pid')}`, `--seed-file=${path.join(T, 'munge', 'munged.seed')}`, `--log-file=${path.join(logs, 'munged.log')}`], 'munged.out');
    await until('munged did not answer', () => run('munge', ['-n', `--socket=${socket}`]).status === 0, 20_000, diagnose);

    // slurm.conf for this host
    const host = os.hostname();
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const cpus = os.cpus().length;
    fs.writeFileSync(
      env.SLURM_CONF,
      [
        'ClusterName=advlmtest',
        `SlurmctldHost=${host}(127.0.0.1)`,
        'SlurmUser=root',
        'SlurmdUser=root',
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${dPort}`,
        'AuthType=auth/munge',
        'CredType=cred/munge',
        `AuthInfo=socket=${socket}`,
        `StateSaveLocation=${path.join(T, 'spool', 'ctld')}`,
        `SlurmdSpoolDir=${path.join(T, 'spool', 'd')}`,
        `SlurmctldPidFile=${path.join(T, 'slurmctld.pid')}`,
        `SlurmdPidFile=${path.join(T, 'slurmd.pid')}`,
        `SlurmctldLogFile=${path.join(logs, 'slurmctld.log')}`,
        `SlurmdLogFile=${path.join(logs, 'slurmd.log')}`,
        // no systemd, no cgroups: track processes through /proc, no task binding, no accounting
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'JobAcctGatherType=jobacct_gather/none',
        'AccountingStorageType=accounting_storage/none',
        'JobCompType=jobcomp/none',
        'MpiDefault=none',
        'SwitchType=switch/none',
        'SchedulerType=sched/backfill',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core',
        'ReturnToService=2',
        `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
        `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
        '',
      ].join('\n'),
    );
    daemon('slurmctld', ['-D', '-i', '-f', env.SLURM_CONF], 'slurmctld.out');
    daemon('slurmd', ['-D', '-N', host, '-f', env.SLURM_CONF], 'slurmd.out');
    await until('the node did not come up idle', () => /idle/.test(run('sinfo', ['-h', '-o', '%T']).stdout ?? ''), 60_000, diagnose);

    // the grid, the job array, and a single-process run of the same grid
    const work = path.join(T, 'work');
    const { gridFile } = await writeTinySweep(work);
    const job = path.join(T, 'job.sh');
    fs.writeFileSync(
      job,
      [
        '#!/bin/bash',
        'set -euo pipefail',
        `cd ${JSON.stringify(projectRoot())}`,
        'echo "array task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT on $(hostname), $SLURM_CPUS_PER_TASK cpu"',
        // no --shard: advlm reads the array task from Slurm's environment
        `exec ${JSON.stringify(process.execPath)} --import tsx src/cli/main.ts sweep ${JSON.stringify(gridFile)} --out ${JSON.stringify(path.join(T, 'shards'))}/shard-$SLURM_ARRAY_TASK_ID --quiet`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const sb = run('sbatch', ['--parsable', '--wait', '--array=0-1', '--cpus-per-task=1', '--job-name=advlm-sweep', `--output=${path.join(logs, 'job-%a.out')}`, job], 600_000);
    jobId = (sb.stdout ?? '').trim().split(/[;\s]/)[0] || undefined;
    const jobLogs = () => [0, 1].map((i) => `--- array task ${i}\n${tail(path.join(logs, `job-${i}.out`), 40)}`).join('\n');
    assert.equal(sb.status, 0, `sbatch --wait failed (${sb.status}): ${sb.stderr}\n${jobLogs()}\n${diagnose()}`);
    for (const i of [0, 1]) {
      const log = fs.readFileSync(path.join(logs, `job-${i}.out`), 'utf8');
      assert.match(log, new RegExp(`array task ${i} of 2`));
      assert.match(log, new RegExp(`shard ${i}/2 runs 4`), `array task ${i} ran shard ${i} of 2:\n${log}`);
      const recs = readRecords([path.join(T, 'shards', `shard-${i}`)]).records;
      assert.deepEqual(recs.map((r) => r.cell.index).sort((a, b) => a - b), i === 0 ? [0, 2, 4, 6] : [1, 3, 5, 7]);
      assert.ok(recs.every((r) => r.status === 'done' && r.shard.count === 2 && r.shard.index === i));
    }
    const merged = mergeSweeps([0, 1].map((i) => path.join(T, 'shards', `shard-${i}`)), path.join(T, 'merged'));
    assert.deepEqual([merged.kept, merged.duplicates, merged.conflicts.length], [8, 0, 0]);
    const single = path.join(T, 'single');
    await runSweep(expandGrid(readGrid(gridFile), work), { outDir: single, progress: { mode: 'silent' }, log: () => {} });
    const a = writeSummary(path.join(T, 'merged')).markdown;
    const b = writeSummary(single).markdown;
    assert.equal(a, b, 'the merged shards summarise exactly as the single-process run');
  } finally {
    if (jobId) run('scancel', [jobId]);
    run('scontrol', ['shutdown'], 20_000);
    for (const c of started.reverse()) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGTERM');
        const gone = await Promise.race([new Promise((r) => c.once('exit', () => r(true))), sleep(5000).then(() => false)]);
        if (!gone) c.kill('SIGKILL');
      }
    }
    fs.rmSync(T, { recursive: true, force: true });
  }
});
