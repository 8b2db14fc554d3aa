export { Echo } from "./echo.js";
