/** `/help`: the cheat sheet (plain text) for this server's URL, as the client reached it. */
import { cheatSheet } from '../cheatsheet.js';
import type { Page } from './page.js';

export const helpPage: Page = ({ origin, base, version }) => ({
  headers: { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' },
  body: cheatSheet(origin + base, { version }),
});
