"""Documents: .docx rendering, the LibreOffice pool (DOCX→PDF), PDF helpers, text extraction."""
