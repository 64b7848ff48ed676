// Finds a way to run Autobahn|Testsuite's `wstest`: the official Docker image where a Docker engine
// answers, else a Python 2.7 virtualenv cached in autobahn/.cache (AUTOBAHN_CACHE overrides),
// installed from the pins in constraints.txt and reused while those pins are unchanged.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { quickOutput, runToEnd } from './children.mjs';

const HERE = new URL('.', import.meta.url).pathname;

/** Docker image used when a Docker engine answers (AUTOBAHN_IMAGE overrides). */
const IMAGE = process.env.AUTOBAHN_IMAGE || 'crossbario/autobahn-testsuite:0.8.2';

/** What the Python 2.7 environment installs; every package it pulls in is pinned in constraints.txt. */
const REQUIREMENTS = ['autobahntestsuite==0.8.2', 'autobahn[twisted,accelerate]==0.10.9', 'Twisted==19.10.0'];

/** The last virtualenv release that still creates Python 2.7 environments. */
const VIRTUALENV = 'virtualenv==20.21.1';

/** Seeded into every new environment by virtualenv itself (its embedded wheels for 2.7). */
const SEEDED = new Set(['pip', 'setuptools', 'wheel']);

const CONSTRAINTS = join(HERE, 'constraints.txt');
const BOOTSTRAP_CONSTRAINTS = join(HERE, 'bootstrap-constraints.txt');

function dockerAnswers() {
  if (process.env.AUTOBAHN_DOCKER === '0') return false;
  return quickOutput('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 20_000 }) !== null;
}

/**
 * Makes wstest available. Returns { how, describe(), spawnArgs(name, wstestArgs) }, where spawnArgs
 * gives the command, its arguments, env and an extra cleanup for the runner's child supervisor.
 */
export async function prepareWstest({ root, say }) {
  if (dockerAnswers()) return prepareDocker({ root, say });
  return prepareVenv({ say });
}

// --- Docker (the official image). Not exercised on the development machine, which has no engine.

async function prepareDocker({ root, say }) {
  const started = Date.now();
  if (quickOutput('docker', ['image', 'inspect', IMAGE]) === null) {
    say(`pulling ${IMAGE}`);
    const pulled = await runToEnd('docker pull', 'docker', ['pull', IMAGE], { env: process.env });
    if (pulled.code !== 0) throw new Error(`docker pull ${IMAGE} failed`);
  }
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  return {
    how: 'docker',
    describe: `${IMAGE} (Docker)`,
    setupSeconds: (Date.now() - started) / 1000,
    spawnArgs(name, wstestArgs) {
      const container = `rfc6455-autobahn-${name}-${process.pid}`;
      const args = ['run', '--rm', '--init', '--name', container, '--network', 'host'];
      // The repository is mounted at the same path, so spec and report paths mean the same inside.
      args.push('-v', `${root}:${root}`, '-w', root, '-e', 'PYTHONUNBUFFERED=1');
      if (uid !== undefined && gid !== undefined) args.push('--user', `${uid}:${gid}`);
      args.push(IMAGE, 'wstest', ...wstestArgs);
      return {
        command: 'docker',
        args,
        env: process.env,
        // Killing the docker CLI does not stop its container.
        extraCleanup: () => quickOutput('docker', ['rm', '-f', container], { timeout: 20_000 }),
      };
    },
  };
}

// --- Python 2.7 virtualenv.

function cacheDir() {
  return process.env.AUTOBAHN_CACHE ? resolve(process.env.AUTOBAHN_CACHE) : join(HERE, '.cache');
}

function findPython2() {
  const candidates = [process.env.AUTOBAHN_PYTHON2, '/root/.pyenv/versions/2.7.18/bin/python', 'python2.7'];
  for (const candidate of candidates) {
    if (!candidate) continue;
    const version = quickOutput(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
    if (version === '2.7') return candidate;
  }
  throw new Error(
    'no Python 2.7 interpreter found (tried /root/.pyenv/versions/2.7.18/bin/python and python2.7 on PATH; ' +
      'set AUTOBAHN_PYTHON2=/path/to/python2.7, or install one, e.g. `pyenv install 2.7.18`)',
  );
}

function findPython3() {
  const candidate = process.env.AUTOBAHN_PYTHON3 || 'python3';
  const version = quickOutput(candidate, ['-c', 'import sys; print(sys.version_info[0])']);
  if (version !== '3') throw new Error(`no Python 3 found as ${candidate} (set AUTOBAHN_PYTHON3)`);
  return candidate;
}

/** Pins (`name==version`) of a constraints file. */
function readPins(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

function stampOf(python2) {
  const hash = createHash('sha256');
  hash.update(readFileSync(CONSTRAINTS));
  hash.update(readFileSync(BOOTSTRAP_CONSTRAINTS));
  hash.update(JSON.stringify([REQUIREMENTS, VIRTUALENV, python2]));
  return hash.digest('hex');
}

const quiet = { PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONWARNINGS: 'ignore', PIP_NO_INPUT: '1' };

async function prepareVenv({ say }) {
  const started = Date.now();
  const cache = cacheDir();
  const py27 = join(cache, 'py27');
  const wstest = join(py27, 'bin', 'wstest');
  const stampFile = join(cache, 'stamp');
  const python2 = findPython2();
  const stamp = stampOf(python2);
  const env = { ...process.env, ...quiet };

  const complete =
    existsSync(stampFile) &&
    readFileSync(stampFile, 'utf8').trim() === stamp &&
    quickOutput(join(py27, 'bin', 'python'), ['-c', 'import autobahntestsuite, wsaccel, twisted'], { env }) !== null;

  if (!complete) {
    say(`installing wstest into ${cache} (Python 2.7 virtualenv; about a minute, once)`);
    await installVenv({ cache, python2, env, say });
    writeFileSync(stampFile, `${stamp}\n`);
  }
  const setupSeconds = (Date.now() - started) / 1000;
  say(`wstest ready (${complete ? 'cached' : 'fresh install'}, ${setupSeconds.toFixed(1)} s)`);
  return {
    how: 'venv',
    describe: 'autobahntestsuite 0.8.2 (Python 2.7 virtualenv, wsaccel)',
    setupSeconds,
    fresh: !complete,
    spawnArgs(_name, wstestArgs) {
      return { command: wstest, args: wstestArgs, env: { ...env, PYTHONUNBUFFERED: '1' }, extraCleanup: null };
    },
  };
}

async function installVenv({ cache, python2, env, say }) {
  const bootstrap = join(cache, 'bootstrap');
  const py27 = join(cache, 'py27');
  const wheels = join(cache, 'wheels');
  const logFile = join(cache, 'install.log');
  for (const dir of [bootstrap, py27, wheels, join(cache, 'stamp')]) rmSync(dir, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  writeFileSync(logFile, '');

  const step = async (what, command, args) => {
    const { code, signal, error } = await runToEnd(what, command, args, { env, logFile });
    if (code === 0) return true;
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n');
    return { failure: `${what} failed (${error ? error.message : `code ${code}, signal ${signal}`})\n${tail}` };
  };
  const must = async (what, command, args) => {
    const result = await step(what, command, args);
    if (result !== true) throw new Error(`${result.failure}\n(full log: ${logFile})`);
  };

  // A Python 3 virtualenv that only holds `virtualenv`, pinned to a release that still makes 2.7 envs.
  await must('python3 -m venv', findPython3(), ['-m', 'venv', bootstrap]);
  const pip3 = join(bootstrap, 'bin', 'pip');
  await must('pip install virtualenv', pip3, ['install', '-q', '-c', BOOTSTRAP_CONSTRAINTS, VIRTUALENV]);
  await must('virtualenv (Python 2.7)', join(bootstrap, 'bin', 'virtualenv'), [
    '-q',
    '--no-periodic-update',
    '-p',
    python2,
    py27,
  ]);
  const pip2 = join(py27, 'bin', 'pip');

  const online =
    process.env.AUTOBAHN_FORCE_OFFLINE_INSTALL === '1'
      ? { failure: 'skipped (AUTOBAHN_FORCE_OFFLINE_INSTALL=1)' }
      : await step('pip 2.7 install', pip2, ['install', '-q', '-c', CONSTRAINTS, ...REQUIREMENTS]);
  if (online !== true) {
    // pip 2.7 could not fetch (old TLS, registry changes): Python 3's pip downloads the exact pinned
    // files, and pip 2.7 installs them with no index.
    say('pip 2.7 could not install from the registry; fetching the pinned files with pip 3');
    writeFileSync(logFile, `${readFileSync(logFile, 'utf8')}\n--- fallback: pip 3 download ---\n`);
    await downloadPinned({ pip3, python2, wheels, step });
    await must('pip 2.7 install (offline)', pip2, [
      'install',
      '-q',
      '--no-index',
      '--no-build-isolation',
      '--find-links',
      wheels,
      '-c',
      CONSTRAINTS,
      ...REQUIREMENTS,
    ]);
  }
  await must('import check', join(py27, 'bin', 'python'), ['-c', 'import autobahntestsuite, wsaccel, twisted']);
}

/** Downloads every pinned package for Python 2.7: its cp27 wheel where one exists, else its sdist. */
async function downloadPinned({ pip3, python2, wheels, step }) {
  const [platform, maxUnicode] = (
    quickOutput(python2, ['-c', 'import sys, sysconfig; print(sysconfig.get_platform()); print(sys.maxunicode)']) ?? ''
  ).split('\n');
  const arch = (platform ?? 'linux-x86_64').replace(/^linux-/, '');
  const abi = Number(maxUnicode) > 0xffff ? 'cp27mu' : 'cp27m';
  const platforms = ['manylinux1', 'manylinux2010', 'manylinux2014', 'linux'].flatMap((p) => [
    '--platform',
    `${p}_${arch}`,
  ]);
  for (const pin of readPins(CONSTRAINTS)) {
    if (SEEDED.has(pin.split('==')[0].toLowerCase())) continue;
    const wheel = await step(`pip download ${pin} (wheel)`, pip3, [
      'download',
      '-q',
      '--no-deps',
      '--only-binary=:all:',
      '--python-version',
      '2.7',
      '--implementation',
      'cp',
      '--abi',
      abi,
      ...platforms,
      '-d',
      wheels,
      pin,
    ]);
    if (wheel === true) continue;
    const sdist = await step(`pip download ${pin} (sdist)`, pip3, [
      'download',
      '-q',
      '--no-deps',
      '--no-binary=:all:',
      '-d',
      wheels,
      pin,
    ]);
    if (sdist !== true) throw new Error(sdist.failure);
  }
}
