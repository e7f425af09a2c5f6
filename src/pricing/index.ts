export { OPENAI_PRICES, PRICES_AS_OF, type ModelPrice } from './openai-prices.js';
export { PriceTable, type TokenUsage } from './price-table.js';
