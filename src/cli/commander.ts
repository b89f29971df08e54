/**
 * commander, required as CommonJS: imported as ESM, Node 20 loads it through its ESM loader file by
 * file, which costs every command about 0.5 MiB more RSS (bench/idle-memory.ts). Each name is the
 * class (value) and its instance type, as `import { Command } from 'commander'` gives them.
 */
import { createRequire } from 'node:module';
import type * as C from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof C;

export const Command = commander.Command;
export type Command = C.Command;
export const Option = commander.Option;
export type Option = C.Option;
export const InvalidArgumentError = commander.InvalidArgumentError;
export type InvalidArgumentError = C.InvalidArgumentError;
export const CommanderError = commander.CommanderError;
export type CommanderError = C.CommanderError;
