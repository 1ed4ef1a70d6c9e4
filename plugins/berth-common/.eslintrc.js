module.exports = require('../eslint.berth')(__dirname);
