// Entry point of the web chat page (built by scripts/build-web.mjs into dist/web/app.js).
import { App } from "./app.ts";
import { byId } from "./dom.ts";

new App(byId("app")).start();
