#!/usr/bin/env node
import { runCli } from "annex";
import { bundled } from "./components.js";

// The composition root: the framework's CLI with the bundled component packages as its catalogue.
process.exit(await runCli(process.argv.slice(2), bundled));
