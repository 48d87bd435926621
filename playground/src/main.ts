import "./styles.css";
import { App } from "./app.ts";
import { PlaygroundStorage } from "./persist/storage.ts";

const root = document.getElementById("app");
if (root === null) throw new Error("playground: the page has no #app element");
const storage = await PlaygroundStorage.open().catch(() => undefined);
const app = new App(root, storage);
await app.start();
document.body.dataset.ready = "true";
