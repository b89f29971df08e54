#!/usr/bin/env node
/** The `burrow` command: a thin shell over the library (src/cli/commands/*). */
import { Command } from 'commander';
import { VERSION } from './version.js';
import { registerServerCommand } from './cli/commands/server.js';
import { registerHttpCommands } from './cli/commands/http.js';
import { registerConnectCommand } from './cli/commands/connect.js';
import { registerTokenCommands } from './cli/commands/token.js';
import { registerNameCommands } from './cli/commands/name.js';
import { registerPipeCommands } from './cli/commands/pipe.js';
import { registerTcpCommand } from './cli/commands/tcp.js';

const program = new Command();
program
  .name('burrow')
  .description('Self-hostable tunnels: HTTP on a public URL, TCP over WebSocket, device relays, zero-storage pipes.')
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run with --help for usage)');

registerServerCommand(program);
registerHttpCommands(program);
registerTcpCommand(program);
registerConnectCommand(program);
registerPipeCommands(program);
registerTokenCommands(program);
registerNameCommands(program);

await program.parseAsync(process.argv);
