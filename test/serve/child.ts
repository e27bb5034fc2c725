// A serve process for the kill -9 test: the fake build holds until aborted; prints its URL.
import { startServer } from "../../src/serve/server.js";
import { fakeBuild } from "./helpers.js";

const server = await startServer(JSON.parse(process.argv[2] as string), { buildFunction: fakeBuild({ hold: true }) });
console.log(`url ${server.url}`);
