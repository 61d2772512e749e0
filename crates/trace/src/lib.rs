//! Follows value through the chain: named taint models (poison, haircut, FIFO), paths between addresses and entities, exposure by category.
