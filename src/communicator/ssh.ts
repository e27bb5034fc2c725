// The SSH communicator (ssh2): wait for sshd, authenticate, run commands with live
// output, and upload files over SFTP.
import { Client, type ConnectConfig, type SFTPWrapper } from "ssh2";
import { readFileSync } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { TsimgError } from "../core/errors.js";
import { MAX_TIMER_MS, raceAbort, sleep, startTimer, type LongTimer } from "../core/abort.js";
import { waitForBanner } from "./ssh-wait.js";

export interface SshOptions {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKeyFile?: string;
  /** A private key's text (the build's temporary key). */
  privateKey?: string;
  /** SSH keepalive interval in ms; 0 turns keepalives off. Default 5000. */
  keepAliveIntervalMs?: number;
  /** A remote command that prints nothing for this long fails (0: no limit). */
  readWriteTimeoutMs?: number;
  /** How many failed handshakes (after sshd answered) before giving up; Packer's ssh_handshake_attempts. */
  handshakeAttempts: number;
}

export interface ExecResult {
  /** Exit status, or undefined when the connection dropped before the command finished. */
  code: number | undefined;
  signal?: string;
}

/** A connected SSH session. */
export class SshSession {
  private constructor(
    private readonly client: Client,
    private readonly readWriteTimeoutMs = 0,
  ) {}

  /**
   * Waits until sshd answers and a login succeeds. Rejects when `signal` fires (the caller
   * aborts it on ssh_timeout or when QEMU dies) or after `handshakeAttempts` failed logins.
   */
  static async connect(options: SshOptions, signal: AbortSignal, onRetry?: (why: string) => void): Promise<SshSession> {
    const privateKey = options.privateKeyFile
      ? readFileSync(options.privateKeyFile)
      : options.privateKey !== undefined
        ? Buffer.from(options.privateKey)
        : undefined;
    let failures = 0;
    for (;;) {
      const socket = await waitForBanner(options.host, options.port, signal);
      try {
        const client = await raceAbort(handshake(socket, options, privateKey), signal);
        return new SshSession(client, options.readWriteTimeoutMs);
      } catch (error) {
        socket.destroy();
        if (signal.aborted) throw error;
        failures++;
        const lastError = (error as Error).message;
        onRetry?.(`SSH handshake ${failures}/${options.handshakeAttempts} failed: ${lastError}`);
        if (failures >= options.handshakeAttempts) {
          throw new TsimgError(
            `SSH login as "${options.username}" failed ${failures} times (ssh_handshake_attempts): ${lastError}`,
            { details: ["check ssh_username and ssh_password / ssh_private_key_file against the kickstart"] },
          );
        }
        await sleep(500, signal);
      }
    }
  }

  /** Runs a command; each output line goes to onLine. Never rejects on a non-zero exit. */
  exec(command: string, onLine: (stream: "stdout" | "stderr", line: string) => void): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (error, channel) => {
        if (error) return reject(new TsimgError(`cannot start remote command: ${error.message}`));
        let result: ExecResult = { code: undefined };
        const flushOut = lineSplitter((line) => onLine("stdout", line));
        const flushErr = lineSplitter((line) => onLine("stderr", line));
        // ssh_read_write_timeout: silence for that long ends the command as failed.
        let silentTimer: LongTimer | undefined;
        const heard = () => {
          if (!this.readWriteTimeoutMs) return;
          silentTimer?.clear();
          silentTimer = startTimer(this.readWriteTimeoutMs, () => {
            channel.close();
            reject(
              new TsimgError(
                `remote command printed nothing for ${this.readWriteTimeoutMs / 1000} s (ssh_read_write_timeout): stopped`,
              ),
            );
          });
        };
        heard();
        channel.on("data", (chunk: Buffer) => (heard(), flushOut.push(chunk)));
        channel.stderr.on("data", (chunk: Buffer) => (heard(), flushErr.push(chunk)));
        channel.on("exit", (code: number | null, signalName?: string) => {
          result = code === null ? { code: undefined, ...(signalName ? { signal: signalName } : {}) } : { code };
        });
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          // Without this, every command of a session left a listener on the connection.
          this.client.removeListener("close", finish);
          silentTimer?.clear();
          flushOut.end();
          flushErr.end();
          resolve(result);
        };
        channel.on("close", finish);
        // A connection that drops (reboot, halt) ends the command without an exit status.
        this.client.once("close", finish);
      });
    });
  }

  /** Uploads a local file or directory (recursively) to a remote path. */
  async upload(localPath: string, remotePath: string): Promise<void> {
    const sftp = await this.sftp();
    // Missing parent directories are made, as `mkdir -p` would: "into /opt/app/" should just work.
    const parents: string[] = [];
    for (let dir = posix.dirname(remotePath); dir !== "/" && dir !== "."; dir = posix.dirname(dir))
      parents.unshift(dir);
    for (const dir of parents) await mkdirIfMissing(sftp, dir);
    await uploadPath(sftp, localPath, remotePath);
  }

  /**
   * Downloads a remote file or directory (recursively). A local path ending with "/" (or an
   * existing directory) receives it under its own name.
   */
  async download(remotePath: string, localPath: string): Promise<void> {
    const sftp = await this.sftp();
    const name = posix.basename(remotePath.replace(/\/+$/, ""));
    const into =
      localPath.endsWith("/") ||
      (await stat(localPath).then(
        (s) => s.isDirectory(),
        () => false,
      ));
    await downloadPath(sftp, remotePath, into ? join(localPath, name) : localPath);
  }

  /** Writes a string to a remote file. */
  async writeFile(remotePath: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(remotePath, content, { mode }, (e) => (e ? reject(sftpError("write", remotePath, e)) : resolve())),
    );
  }

  close(): void {
    this.client.end();
    this.client.destroy();
  }

  /** Reads a remote file whole over SFTP (no program on the guest needed). */
  async readFile(remotePath: string): Promise<Buffer> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) =>
      sftp.readFile(remotePath, (e: Error | null | undefined, data: Buffer) =>
        e ? reject(sftpError("read", remotePath, e)) : resolve(data),
      ),
    );
  }

  // One SFTP session per connection: each new one makes the guest start sftp-server again.
  private sftpSession: Promise<SFTPWrapper> | undefined;

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) =>
      this.client.sftp((error, sftp) => {
        if (error) return reject(new TsimgError(`cannot open SFTP: ${error.message}`));
        sftp.once("close", () => (this.sftpSession = undefined));
        resolve(sftp);
      }),
    );
    this.sftpSession.catch(() => (this.sftpSession = undefined));
    return this.sftpSession;
  }
}

function handshake(
  socket: import("node:net").Socket,
  options: SshOptions,
  privateKey: Buffer | undefined,
): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const config: ConnectConfig = {
      sock: socket,
      username: options.username,
      readyTimeout: 60_000,
      // ssh2 uses setInterval, which runs a longer interval every millisecond.
      keepaliveInterval: Math.min(options.keepAliveIntervalMs ?? 5000, MAX_TIMER_MS),
      keepaliveCountMax: 6,
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(privateKey ? { privateKey } : {}),
      // The guest's host key is new on every build; there is nothing to pin it to.
      hostVerifier: () => true,
    };
    client.once("ready", () => resolve(client));
    client.once("error", (error: Error & { level?: string }) => {
      client.destroy();
      reject(
        error.level === "client-authentication" ? new Error("authentication failed (wrong password or key?)") : error,
      );
    });
    client.connect(config);
  });
}

async function uploadPath(sftp: SFTPWrapper, localPath: string, remotePath: string): Promise<void> {
  const info = await stat(localPath);
  if (!info.isDirectory()) {
    await new Promise<void>((resolve, reject) =>
      sftp.fastPut(localPath, remotePath, { mode: info.mode & 0o777 }, (e) =>
        e ? reject(sftpError("upload", remotePath, e)) : resolve(),
      ),
    );
    return;
  }
  await mkdirIfMissing(sftp, remotePath);
  for (const entry of await readdir(localPath)) {
    await uploadPath(sftp, join(localPath, entry), posix.join(remotePath, entry));
  }
}

async function downloadPath(sftp: SFTPWrapper, remotePath: string, localPath: string): Promise<void> {
  const attrs = await new Promise<import("ssh2").Stats>((resolve, reject) =>
    sftp.stat(remotePath, (e, s) => (e ? reject(sftpError("stat", remotePath, e)) : resolve(s))),
  );
  if (!attrs.isDirectory()) {
    await mkdir(dirname(localPath), { recursive: true });
    await new Promise<void>((resolve, reject) =>
      sftp.fastGet(remotePath, localPath, (e) => (e ? reject(sftpError("download", remotePath, e)) : resolve())),
    );
    return;
  }
  await mkdir(localPath, { recursive: true });
  const entries = await new Promise<{ filename: string }[]>((resolve, reject) =>
    sftp.readdir(remotePath, (e, list) => (e ? reject(sftpError("readdir", remotePath, e)) : resolve(list))),
  );
  for (const entry of entries)
    await downloadPath(sftp, posix.join(remotePath, entry.filename), join(localPath, entry.filename));
}

function mkdirIfMissing(sftp: SFTPWrapper, path: string): Promise<void> {
  return new Promise((resolve, reject) =>
    sftp.stat(path, (statError) => {
      if (!statError) return resolve();
      sftp.mkdir(path, (e) => (e ? reject(sftpError("mkdir", path, e)) : resolve()));
    }),
  );
}

function sftpError(what: string, path: string, error: Error): TsimgError {
  return new TsimgError(`SFTP ${what} ${path} failed: ${error.message}`);
}

/** Splits a byte stream into lines, holding the partial last line until more arrives. */
function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let partial = "";
  return {
    push(chunk) {
      const parts = (partial + chunk.toString("utf8")).split(/\r?\n/);
      partial = parts.pop() ?? "";
      for (const part of parts) onLine(part);
    },
    end() {
      if (partial) onLine(partial);
      partial = "";
    },
  };
}
