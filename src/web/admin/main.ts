// Entry point of the admin page (built by scripts/build-web.mjs into dist/web/admin.js).
import { byId } from "../dom.ts";
import { AdminPage } from "./admin-page.ts";

new AdminPage(byId("app")).start();
