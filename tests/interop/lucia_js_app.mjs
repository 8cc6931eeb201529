// A Lucia-JS 1.x application (lucia-auth 1.8.0 + @lucia-auth/adapter-postgresql 1.0.1 on pg),
// configured as the Lucia-JS 1.x docs show, driven by the Python interop tests.
//
// Protocol: one JSON command per line on stdin, {"id": 1, "op": "createSession", "args": {...}};
// one JSON answer per line on stdout, {"id": 1, "ok": true, "result": ...} or
// {"id": 1, "ok": false, "error": "AUTH_INVALID_SESSION_ID"}. Dates travel as epoch
// milliseconds. The database comes from DATABASE_URL. The process lives until stdin closes,
// so the tests pay Node's start-up once.
import "lucia-auth/polyfill/node";
import readline from "node:readline";
import lucia, { LuciaError } from "lucia-auth";
import { pg } from "@lucia-auth/adapter-postgresql";
import postgres from "pg";

const pool = new postgres.Pool({ connectionString: process.env.DATABASE_URL, max: 4 });

// @lucia-auth/adapter-postgresql 1.0.1 (the last 1.x) takes a client with pool.connect()
// for BEGIN/COMMIT around createUser-with-a-key and never releases it (its INSERTs run on
// other pool clients anyway). Give the client back once its transaction ends, so a long
// test run does not exhaust the pool; no query or its result changes.
const connect = pool.connect.bind(pool);
pool.connect = (...args) => {
  if (args.length > 0) return connect(...args); // pool.query's own callback form
  return connect().then((client) => {
    const query = client.query;
    client.query = (text, ...rest) => {
      const result = query.call(client, text, ...rest);
      if (text === "COMMIT" || text === "ROLLBACK") {
        client.query = query;
        Promise.resolve(result).finally(() => client.release());
      }
      return result;
    };
    return client;
  });
};

const auth = lucia({
  adapter: pg(pool),
  env: "DEV",
  transformDatabaseUser: (databaseUser) => ({
    userId: databaseUser.id,
    username: databaseUser.username ?? null,
  }),
});

const ms = (date) => (date instanceof Date ? date.getTime() : date);

const session = (s) => ({
  sessionId: s.sessionId,
  userId: s.userId,
  activePeriodExpiresAt: ms(s.activePeriodExpiresAt),
  idlePeriodExpiresAt: ms(s.idlePeriodExpiresAt),
  state: s.state,
  fresh: s.fresh,
});

const key = (k) => ({ ...k, expiresAt: k.expiresAt === undefined ? null : ms(k.expiresAt) });

const commands = {
  createUser: async ({ providerId, providerUserId, password = null, attributes = {} }) =>
    auth.createUser({ primaryKey: { providerId, providerUserId, password }, attributes }),
  getUser: async ({ userId }) => auth.getUser(userId),
  deleteUser: async ({ userId }) => auth.deleteUser(userId),
  createKey: async ({ userId, providerId, providerUserId, password = null, expiresIn = null }) =>
    key(
      await auth.createKey(
        userId,
        expiresIn === null
          ? { type: "persistent", providerId, providerUserId, password }
          : { type: "single_use", providerId, providerUserId, password, expiresIn },
      ),
    ),
  getKey: async ({ providerId, providerUserId }) => key(await auth.getKey(providerId, providerUserId)),
  getAllUserKeys: async ({ userId }) => (await auth.getAllUserKeys(userId)).map(key),
  useKey: async ({ providerId, providerUserId, password = null }) =>
    key(await auth.useKey(providerId, providerUserId, password)),
  updateKeyPassword: async ({ providerId, providerUserId, password = null }) =>
    auth.updateKeyPassword(providerId, providerUserId, password),
  createSession: async ({ userId }) => session(await auth.createSession(userId)),
  getSession: async ({ sessionId }) => session(await auth.getSession(sessionId)),
  validateSession: async ({ sessionId }) => session(await auth.validateSession(sessionId)),
  validateSessionUser: async ({ sessionId }) => {
    const result = await auth.validateSessionUser(sessionId);
    return { session: session(result.session), user: result.user };
  },
  renewSession: async ({ sessionId }) => session(await auth.renewSession(sessionId)),
  getAllUserSessions: async ({ userId }) => (await auth.getAllUserSessions(userId)).map(session),
  invalidateSession: async ({ sessionId }) => auth.invalidateSession(sessionId),
  invalidateAllUserSessions: async ({ userId }) => auth.invalidateAllUserSessions(userId),
  createSessionCookie: async ({ sessionId = null, idlePeriodExpiresAt = 0 }) =>
    auth
      .createSessionCookie(sessionId === null ? null : { sessionId, idlePeriodExpiresAt: new Date(idlePeriodExpiresAt) })
      .serialize(),
  parseRequestHeaders: async ({ method, url, headers }) => auth.parseRequestHeaders({ method, url, headers }),
  hashPassword: async ({ password }) => auth.hash.generate(password),
  verifyPassword: async ({ password, hash }) => auth.hash.validate(password, hash),
};

const answer = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let id = null;
  try {
    const command = JSON.parse(line);
    id = command.id;
    const run = commands[command.op];
    if (run === undefined) throw new TypeError(`unknown op ${command.op}`);
    const result = await run(command.args ?? {});
    answer({ id, ok: true, result: result ?? null });
  } catch (error) {
    if (error instanceof LuciaError) {
      answer({ id, ok: false, error: error.message });
    } else {
      answer({ id, ok: false, error: "UNEXPECTED", detail: String(error?.stack ?? error) });
    }
  }
}
await pool.end();
