#!/usr/bin/env node
import { runCli } from "annex";
import { bundled } from "../components/index.js";

// The composition root: the framework's CLI with the bundled components as its catalogue.
process.exit(await runCli(process.argv.slice(2), bundled));
