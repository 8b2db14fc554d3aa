export { Pong } from "./pong.js";
