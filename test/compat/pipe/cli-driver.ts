// Runs `burrow pipe …` with only the pipe commands registered (the lead wires them into src/cli.ts).
import { Command } from 'commander';
import { registerPipeCommands } from '../../../src/cli/commands/pipe.js';

const program = new Command('burrow');
registerPipeCommands(program);
await program.parseAsync(process.argv);
