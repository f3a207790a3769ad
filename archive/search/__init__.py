"""Full-text search: the index (:mod:`.index`), the query engine (:mod:`.engine`), the
postings codec (:mod:`.codec`) and the indexer that keeps the index in step with the store's
change log (:mod:`.indexer`).

The package itself imports nothing heavy; jieba, Whoosh and numpy load with :mod:`.index`.
"""
