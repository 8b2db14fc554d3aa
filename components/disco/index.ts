export { Directory } from "./directory.js";
export { DirectoryOptions, type DirectorySettings } from "./options.js";
