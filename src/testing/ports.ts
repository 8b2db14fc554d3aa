export { freePort, isListening } from "../ops/net.js";
