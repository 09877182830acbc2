//! Reading spreadsheets (xlsx/xlsm/xls/ods/csv) into typed domain items with issues.
