#!/usr/bin/env node
// The installed command: the compiled entry (npm run build writes dist/).
import "../dist/bin.js"
